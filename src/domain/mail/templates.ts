// The e-mails this service writes, one folder: what each says in each language (en.ts, es.ts,
// fr.ts) and how a message is laid out (here). A template returns its subject and a few blocks of
// plain words; the layout turns the same blocks into the plain-text part and the HTML part, so the
// two never say different things, and every value is escaped in one place.
import type { Language } from "../language.ts";
import type { MailMessage } from "../ports/mail.ts";
import { en } from "./en.ts";
import { es } from "./es.ts";
import { fr } from "./fr.ts";

/** What each mail is given. Amounts are integer cents (USD); instants are shown in UTC. */
export interface MailData {
  /** The code that confirms an account's e-mail address, valid for `validForMs`. */
  verify_email: { name: string; token: string; validForMs: number };
  /** The code that sets a new password, once, within `validForMs`. */
  password_reset: { name: string; token: string; validForMs: number };
  /** To a host with no live channel open: a guest is waiting and will be let go at `answerBy`. */
  call_incoming: { name: string; guestName: string; shortCode: string; rateCents: number; windowMinutes: number; answerBy: Date };
  /** To the host: they did not join in time, the call was cancelled. */
  call_missed: { name: string; guestName: string; shortCode: string; waitedFrom: Date; answerWithinMs: number };
  /** To the guest: the host did not join, nothing was charged and the hold was released. */
  call_cancelled: { name: string; hostName: string; waitedFrom: Date };
  /** To the guest after a call: what was charged, window by window summed. */
  receipt: {
    name: string;
    hostName: string;
    callId: string;
    startedAt: Date;
    endedAt: Date;
    /** Billed minutes: each started minute of each window. */
    minutes: number;
    windows: number;
    rateCents: number;
    amountCents: number;
    /** The card charged, when the payment provider says which. */
    card: { brand: string; last4: string } | null;
  };
  /** To the host after a call: what the guest paid, the platform's fee and the host's part. */
  earnings: {
    name: string;
    guestName: string;
    callId: string;
    startedAt: Date;
    minutes: number;
    grossCents: number;
    feeCents: number;
    netCents: number;
  };
}
export type MailKind = keyof MailData;

/** A block of a mail: a paragraph, a code to copy, or a summary of labelled values. */
export type Block = string | { code: string } | { rows: [label: string, value: string][] };

export interface MailContent {
  subject: string;
  blocks: Block[];
}

/** Values written as the language writes them. */
export interface Format {
  /** 1250 → "$12.50" (en), "12,50 US$" (es), "12,50 $US" (fr). */
  money(cents: number): string;
  /** A date and time in UTC, e.g. "Nov 30, 2026, 2:05 PM UTC". */
  dateTime(at: Date): string;
  /** A time of day in UTC, e.g. "2:05 PM UTC". */
  time(at: Date): string;
  /** A length of time in whole hours, else whole minutes: "48 hours", "1 hora", "5 minutes". */
  duration(ms: number): string;
}

/** One language's mails, and the line that closes every one of them. */
export type Templates = { [K in MailKind]: (data: MailData[K], f: Format) => MailContent } & { footer: string };

export const TEMPLATES: Record<Language, Templates> = { en, es, fr };

/** One Format per language, made once: Intl formatters are costly to build and safe to share. */
const FORMATS = new Map<Language, Format>();

export function formatFor(language: Language): Format {
  let format = FORMATS.get(language);
  if (!format) FORMATS.set(language, (format = makeFormat(language)));
  return format;
}

function makeFormat(language: Language): Format {
  const money = new Intl.NumberFormat(language, { style: "currency", currency: "USD" });
  const dateTime = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
  const time = new Intl.DateTimeFormat(language, { timeStyle: "short", timeZone: "UTC" });
  const hours = new Intl.NumberFormat(language, { style: "unit", unit: "hour", unitDisplay: "long" });
  const minutes = new Intl.NumberFormat(language, { style: "unit", unit: "minute", unitDisplay: "long" });
  return {
    money: (cents) => money.format(cents / 100),
    dateTime: (at) => `${dateTime.format(at)} UTC`,
    time: (at) => `${time.format(at)} UTC`,
    duration: (ms) => (ms % 3_600_000 === 0 ? hours.format(ms / 3_600_000) : minutes.format(Math.round(ms / 60_000))),
  };
}

/** The message `kind` says to `to`, in `language`: plain text and HTML from the same blocks. */
export function renderMail<K extends MailKind>(kind: K, language: Language, to: string, data: MailData[K]): MailMessage {
  const templates = TEMPLATES[language];
  const { subject, blocks } = (templates[kind] as (d: MailData[K], f: Format) => MailContent)(oneLine(data), formatFor(language));
  return { to, subject, text: toText(blocks, templates.footer), html: toHtml(language, subject, blocks, templates.footer) };
}

/**
 * Every text value on one line: names are free text (a guest's among them), and a line break or
 * control character in one must not add lines of its own to a mail.
 */
function oneLine<T extends object>(data: T): T {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === "string" ? v.replace(/[\s\p{Cc}]+/gu, " ").trim() : v])) as T;
}

function toText(blocks: Block[], footer: string): string {
  const parts = blocks.map((b) => {
    if (typeof b === "string") return b;
    if ("code" in b) return `    ${b.code}`;
    const width = Math.max(...b.rows.map(([label]) => label.length));
    return b.rows.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`).join("\n");
  });
  return `${parts.join("\n\n")}\n\n-- \n${footer}\n`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

function toHtml(language: Language, subject: string, blocks: Block[], footer: string): string {
  const body = blocks.map((b) => {
    if (typeof b === "string") return `<p style="margin:0 0 16px;line-height:1.5">${escapeHtml(b)}</p>`;
    if ("code" in b) {
      return `<p style="margin:0 0 16px;padding:12px 16px;background:#f2f3f5;border-radius:6px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:16px;word-break:break-all">${escapeHtml(b.code)}</p>`;
    }
    const rows = b.rows
      .map(([label, value]) => `<tr><th scope="row" style="text-align:left;font-weight:normal;color:#555;padding:4px 16px 4px 0">${escapeHtml(label)}</th><td style="padding:4px 0;font-weight:600">${escapeHtml(value)}</td></tr>`)
      .join("");
    return `<table role="presentation" style="border-collapse:collapse;margin:0 0 16px">${rows}</table>`;
  });
  return [
    `<!doctype html>`,
    `<html lang="${language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(subject)}</title></head>`,
    `<body style="margin:0;background:#ffffff;color:#1a1a1a;${FONT};font-size:15px">`,
    `<div style="max-width:560px;margin:0 auto;padding:24px">`,
    ...body,
    `<p style="margin:24px 0 0;color:#6b6b6b;font-size:13px">${escapeHtml(footer)}</p>`,
    `</div></body></html>`,
    "",
  ].join("\n");
}
