// What the local stand-ins of outside services (stripe-server.ts, vonage-server.ts) share: fault
// injection (which requests a rule applies to, rules consumed by the requests they match) and
// reading a request's body.
import type http from "node:http";

/** The requests a rule applies to: a method, a path (exact or a pattern), or both; none is every request. */
export interface RequestMatch {
  method?: string;
  path?: string | RegExp;
}

function matches(match: RequestMatch, method: string, path: string): boolean {
  if (match.method && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === "string" ? match.path === path : match.path.test(path);
}

/** Rules consumed by the requests they match, first rule first. */
export class Rules<T> {
  private rules: { match: RequestMatch; count: number; value: T }[] = [];
  add(match: RequestMatch, count: number, value: T) {
    if (count > 0) this.rules.push({ match, count, value });
  }
  take(method: string, path: string): T | null {
    const rule = this.rules.find((r) => matches(r.match, method, path));
    if (!rule) return null;
    if (--rule.count === 0) this.rules.splice(this.rules.indexOf(rule), 1);
    return rule.value;
  }
  values() {
    return this.rules.map((r) => r.value);
  }
}

/** A request's whole body, as text. */
export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
