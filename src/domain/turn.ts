// TURN REST credentials in coturn's "use-auth-secret" form: username = "<unix expiry>:<call id>",
// credential = base64(HMAC-SHA1(secret, username)).
import { createHmac } from "node:crypto";
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
  const username = `${expiry}:${callId}`;
  const credential = createHmac("sha1", cfg.secret).update(username).digest("base64");
  return { urls: [...cfg.urls], username, credential };
}
