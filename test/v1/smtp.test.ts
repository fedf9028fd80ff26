// MAIL_URL=smtp://…: mail goes out through nodemailer to a real SMTP server (smtp-server on
// loopback), with the configured sender and credentials; nothing is written to the outbox.
import { existsSync } from "node:fs";
import path from "node:path";
import t from "tap";
import { SMTPServer } from "smtp-server";
import { captureLogs, testApp } from "../helpers/app.ts";
import { post, register } from "../helpers/v1.ts";
import { SMTP_CONNECTIONS } from "../../src/adapters/mail/smtp.ts";

interface Received {
  from: string | undefined;
  to: string[];
  user: string | undefined;
  data: string;
}

const received: Received[] = [];
let open = 0;
let mostOpen = 0;
let connects = 0;
const server = new SMTPServer({
  onConnect(_session, cb) {
    connects++;
    mostOpen = Math.max(mostOpen, ++open);
    cb();
  },
  onClose() {
    open--;
  },
  disabledCommands: ["STARTTLS"],
  allowInsecureAuth: true,
  logger: false,
  onAuth(auth, _session, cb) {
    if (auth.username === "mailer" && auth.password === "s3cret") return cb(null, { user: auth.username });
    cb(new Error("invalid credentials"));
  },
  onData(stream, session, cb) {
    let data = "";
    stream.on("data", (d: Buffer) => (data += d.toString("utf8")));
    stream.on("end", () => {
      received.push({
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
        to: session.envelope.rcptTo.map((r) => r.address),
        user: session.user as string | undefined,
        data,
      });
      cb();
    });
  },
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const port = (server.server.address() as { port: number }).port;

t.test("verification mail is delivered over SMTP with the configured sender, and its token works", async (t) => {
  const { app, dataDir } = await testApp(t, {
    env: { MAIL_URL: `smtp://mailer:s3cret@127.0.0.1:${port}`, MAIL_FROM: "Vidivo <hello@vidivo.test>" },
  });
  await register(app, "zoe@example.com", { display_name: "Zoe" });
  await app.mail.idle();
  t.equal(received.length, 1, "one message reached the SMTP server");
  const mail = received[0]!;
  t.equal(mail.user, "mailer", "authenticated with the credentials of MAIL_URL");
  t.equal(mail.from, "hello@vidivo.test");
  t.same(mail.to, ["zoe@example.com"]);
  t.match(mail.data, /^From: Vidivo <hello@vidivo\.test>$/m);
  t.match(mail.data, /^Subject: Confirm your e-mail address$/m);
  const token = /ev_[A-Za-z0-9_-]{43}/.exec(mail.data.replace(/=\r?\n/g, ""))?.[0];
  t.ok(token, "the message carries the verification token");
  const verified = await post(app, "/v1/auth/verify-email", { token });
  t.equal(verified.statusCode, 200);
  t.equal(verified.json().user.email_verified, true);
  t.notOk(existsSync(path.join(dataDir, "outbox")), "nothing was written to the outbox");
});

t.test("a burst of mails shares a few pooled connections", async (t) => {
  const { app } = await testApp(t, { env: { MAIL_URL: `smtp://mailer:s3cret@127.0.0.1:${port}` } });
  const before = received.length;
  const connectsBefore = connects;
  mostOpen = open;
  // Queued at once, as the receipts of calls that end together are.
  for (let i = 0; i < 20; i++) app.mail.enqueue({ to: `burst${i}@example.com`, subject: `Burst ${i}`, text: "hello" });
  await app.mail.idle();
  t.equal(received.length - before, 20, "every mail delivered");
  t.ok(mostOpen <= SMTP_CONNECTIONS, `at most ${SMTP_CONNECTIONS} connections at once (${mostOpen})`);
  t.ok(connects - connectsBefore <= SMTP_CONNECTIONS, `connections reused: ${connects - connectsBefore} for 20 mails`);
});

t.test("a failing SMTP server never fails the request; the failure is logged", async (t) => {
  const { lines, logStream } = captureLogs();
  const { app } = await testApp(t, { env: { MAIL_URL: `smtp://mailer:wrong@127.0.0.1:${port}`, LOG_LEVEL: "error" }, overrides: { logStream } });
  const before = received.length;
  const res = await post(app, "/v1/auth/register", { email: "yan@example.com", password: "correct horse battery" });
  t.equal(res.statusCode, 201, "registration succeeds although the mail cannot be sent");
  await app.mail.idle();
  t.equal(received.length, before, "the server refused the credentials, so nothing was delivered");
  const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "mail delivery failed");
  t.equal(failures.length, 1, "the delivery was attempted and its failure logged");
  t.match(failures[0].err.message, /invalid login/i);
  t.notOk(lines.join("").includes("wrong"), "the SMTP password is not in the log");
});
