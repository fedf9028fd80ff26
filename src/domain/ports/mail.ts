// The mail port. Drivers: the outbox (`.eml` files in $DATA_DIR/outbox, the default) and SMTP
// (MAIL_URL=smtp://…, nodemailer).

export interface MailMessage {
  to: string;
  subject: string;
  /** The plain-text part. */
  text: string;
  /** The HTML part (the same words), when there is one. */
  html?: string;
}

export interface Mailer {
  /** Delivers one message (resolves when the driver has accepted it). */
  send(message: MailMessage): Promise<void>;
  close?(): Promise<void>;
}
