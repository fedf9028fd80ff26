// SMTP driver (MAIL_URL=smtp://user:pass@host:port or smtps://…), through nodemailer, which is
// loaded by the first message rather than by every start.
import type { Transporter } from "nodemailer";
import type { Mailer } from "../../domain/ports/mail.ts";

export function smtpMailer(url: string, from: string): Mailer {
  let transport: Promise<Transporter> | undefined;
  const connect = () => (transport ??= import("nodemailer").then((m) => m.default.createTransport(url)));
  return {
    async send(message) {
      await (await connect()).sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    },
    async close() {
      if (transport) (await transport).close();
    },
  };
}
