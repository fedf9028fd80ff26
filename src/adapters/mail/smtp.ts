// SMTP driver (MAIL_URL=smtp://user:pass@host:port or smtps://…), through nodemailer, which is
// loaded by the first message rather than by every start; connections are pooled.
import type { Transporter } from "nodemailer";
import type { Mailer } from "../../domain/ports/mail.ts";

/** Connections to the SMTP server at most (nodemailer's pool; messages beyond wait their turn). */
export const SMTP_CONNECTIONS = 5;

export function smtpMailer(url: string, from: string): Mailer {
  let transport: Promise<Transporter> | undefined;
  // Pooled: a burst of mails (the receipts of calls ending together) shares a few connections
  // instead of opening one each, which SMTP servers limit. `?pool=false` in the URL opts out.
  const connect = () => (transport ??= import("nodemailer").then((m) => m.default.createTransport({ url, pool: true, maxConnections: SMTP_CONNECTIONS })));
  return {
    async send(message) {
      await (await connect()).sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    },
    async close() {
      if (transport) (await transport).close();
    },
  };
}
