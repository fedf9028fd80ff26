// TURN REST credentials in coturn's "use-auth-secret" form: username = "<unix expiry>:<call id>",
// credential = base64(HMAC-SHA1(secret, username)). The call id is the one clients know (its ULID),
// so a TURN server's log names calls as the API does.
import { createHmac } from "node:crypto";
import { toUlid } from "./ids.ts";
import type { Clock } from "./ports/clock.ts";

export interface TurnConfig {
  urls: readonly string[];
  secret: string;
  ttlSeconds: number;
}

export interface TurnCredentials {
  urls: string[];
  username: string;
  credential: string;
}

export function turnCredentials(cfg: TurnConfig, clock: Clock, callId: string): TurnCredentials {
  const expiry = Math.floor(clock.now() / 1000) + cfg.ttlSeconds;
  const username = `${expiry}:${toUlid(callId)}`;
  const credential = createHmac("sha1", cfg.secret).update(username).digest("base64");
  return { urls: [...cfg.urls], username, credential };
}
