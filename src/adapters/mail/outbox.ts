// Outbox driver: every message becomes an RFC 5322 `.eml` file in $DATA_DIR/outbox, written
// atomically (temporary name, then rename), named so that a directory listing is in send order.
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { Transporter } from "nodemailer";
import type { Clock } from "../../domain/ports/clock.ts";
import type { Mailer } from "../../domain/ports/mail.ts";

export const outboxDir = (dataDir: string) => path.join(dataDir, "outbox");

export function outboxMailer(dataDir: string, from: string, clock: Clock): Mailer {
  const dir = outboxDir(dataDir);
  // nodemailer is loaded by the first message, not by every start.
  let composer: Promise<Transporter> | undefined;
  const compose = () =>
    (composer ??= import("nodemailer").then((m) => m.default.createTransport({ streamTransport: true, buffer: true, newline: "unix" })));
  let seq = 0;
  return {
    async send(message) {
      const now = new Date(clock.now());
      const info = await (await compose()).sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html, date: now });
      await mkdir(dir, { recursive: true });
      const stamp = now.toISOString().replace(/[-:]/g, "").replace(".", "");
      const name = `${stamp}-${String(seq++).padStart(6, "0")}-${randomUUID()}.eml`;
      const tmp = path.join(dir, `.${name}.tmp`);
      await writeFile(tmp, info.message as Buffer, { mode: 0o600 });
      await rename(tmp, path.join(dir, name));
    },
  };
}
