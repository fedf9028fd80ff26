// Small v1 client helpers over inject(), and the mail outbox.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { simpleParser } from "mailparser";

export const json = { "content-type": "application/json" };
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const PASSWORD = "correct horse battery";

export interface Session {
  user: { id: string; email: string | null; display_name: string; role: string; email_verified: boolean; created_at: string };
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export async function register(app: FastifyInstance, email: string, extra: Record<string, unknown> = {}): Promise<Session> {
  const res = await app.inject({ method: "POST", url: "/v1/auth/register", headers: json, payload: { email, password: PASSWORD, ...extra } });
  if (res.statusCode !== 201) throw new Error(`register ${email}: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function login(app: FastifyInstance, email: string, password = PASSWORD) {
  return app.inject({ method: "POST", url: "/v1/auth/login", headers: json, payload: { email, password } });
}

export const post = (app: FastifyInstance, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url, headers: payload === undefined ? headers : { ...json, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });

export function errorBody(code: string, message: string, details: Record<string, string> | null = null) {
  return { error: { code, message, details } };
}

export interface OutboxMail {
  file: string;
  to: string;
  subject: string;
  /** The plain-text part, decoded. */
  text: string;
  /** The HTML part, decoded; "" when there is none. */
  html: string;
  token: string | null;
}

/** Every mail written so far (after the queue has drained), oldest first, parsed as a mail client would. */
export async function outbox(app: FastifyInstance, dataDir: string): Promise<OutboxMail[]> {
  await app.mail.idle();
  const dir = path.join(dataDir, "outbox");
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".eml")).sort();
  } catch {
    // No outbox yet: no mail sent.
  }
  return Promise.all(
    names.map(async (file) => {
      const mail = await simpleParser(readFileSync(path.join(dir, file)));
      const text = mail.text ?? "";
      return {
        file,
        to: mail.to && !Array.isArray(mail.to) ? mail.to.text : "",
        subject: mail.subject ?? "",
        text,
        html: typeof mail.html === "string" ? mail.html : "",
        token: /\b((?:ev|pr)_[A-Za-z0-9_-]{43})\b/.exec(text)?.[1] ?? null,
      };
    }),
  );
}

/** The token of the newest mail to `to` with a subject matching `subject`. */
export async function mailToken(app: FastifyInstance, dataDir: string, to: string, subject: RegExp): Promise<string> {
  const mails = (await outbox(app, dataDir)).filter((m) => m.to === to && subject.test(m.subject));
  const token = mails[mails.length - 1]?.token;
  if (!token) throw new Error(`no mail to ${to} matching ${subject}`);
  return token;
}
