// SMTP driver (MAIL_URL=smtp://user:pass@host:port or smtps://…), through nodemailer.
import nodemailer from "nodemailer";
import type { Mailer } from "./port.ts";

export function smtpMailer(url: string, from: string): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    async send(message) {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
    async close() {
      transport.close();
    },
  };
}
