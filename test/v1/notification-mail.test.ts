// The e-mails and notices around a call (docs/notifications.md), read from the outbox as a mail
// client would: the incoming-call mail to a host whose live channel did not get the notice, the
// missed-call and cancellation notices of a no-show, the guest's receipt and the host's earnings
// with the exact amounts of the billing rules, each person's language and preferences, and a
// notice step that fails being retried without telling anyone twice.
import t, { type Test } from "tap";
import { fromUlid } from "../../src/domain/ids.ts";
import { testApp } from "../helpers/app.ts";
import { activeCall, advance, bearer, connect, createLink, getCall, join, json, makeGuest, makeUser, startCall, type Party } from "../helpers/calls.ts";
import { EventStream } from "../helpers/events.ts";
import { outbox } from "../helpers/v1.ts";

const { app, clock, dataDir } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
await app.listen({ port: 0, host: "127.0.0.1" });

const emailOf = async (p: Party) => (await app.db.user.findUniqueOrThrow({ where: { id: p.id } })).email!;
const mailsTo = async (address: string) => (await outbox(app, dataDir)).filter((m) => m.to === address);
const notices = async (p: Party) => {
  const res = await app.inject({ method: "GET", url: "/v1/notifications?limit=100", headers: bearer(p.token) });
  if (res.statusCode !== 200) throw new Error(`list notifications: ${res.statusCode} ${res.body}`);
  return (res.json().data as { type: string; data: Record<string, unknown> }[]).reverse();
};
const patchMe = (p: Party, payload: object) => app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...bearer(p.token) }, payload });
/** A guest made through the API, with the address and language given. */
async function apiGuest(displayName: string, email: string, language: string): Promise<Party> {
  const res = await app.inject({ method: "POST", url: "/v1/auth/guest", headers: { ...json, "accept-language": language }, payload: { display_name: displayName, email } });
  if (res.statusCode !== 201) throw new Error(`guest: ${res.statusCode} ${res.body}`);
  const body = res.json();
  const id = fromUlid(body.guest.id)!;
  return { id, ulid: body.guest.id, token: body.guest_token };
}

t.test("a host with no live channel open gets the incoming-call e-mail a few seconds later; once, and the call has rung", async (t) => {
  const host = await makeUser(app, "host", "Hana");
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
  const started = await startCall(app, await makeGuest(app, "Gina"), link.short_code);
  const startedAt = clock.now();
  await advance(app, clock, 0);
  t.same(await mailsTo(await emailOf(host)), [], "not at once: a live channel may still take it");

  await advance(app, clock, 5_000);
  const mails = await mailsTo(await emailOf(host));
  t.equal(mails.length, 1, "one mail");
  t.equal(mails[0]!.subject, "Gina is waiting for you");
  t.match(mails[0]!.text, "Hello Hana,");
  t.match(mails[0]!.text, `Gina is waiting on your call link ${link.short_code}`);
  t.match(mails[0]!.text, /Rate:\s+\$3\.00 per minute/);
  t.match(mails[0]!.text, /Billing window:\s+10 minutes/);
  const answerBy = new Intl.DateTimeFormat("en", { timeStyle: "short", timeZone: "UTC" }).format(new Date(startedAt + 5 * 60_000));
  t.match(mails[0]!.text, `before ${answerBy} UTC`, "the moment the guest is let go");
  t.match(mails[0]!.html, /<html lang="en">/);
  t.equal((await getCall(app, host, started.call.id)).notified_at, new Date(clock.now()).toISOString(), "the call has rung: the mail was queued");

  await advance(app, clock, 60_000);
  t.equal((await mailsTo(await emailOf(host))).length, 1, "and no second mail");
});

t.test("a host whose live channel received the notice gets no mail", async (t) => {
  const host = await makeUser(app, "host", "Streaming Host");
  const link = await createLink(app, host);
  const stream = await EventStream.open(app, host.token);
  t.teardown(() => stream.abort());
  const started = await startCall(app, await makeGuest(app, "Seen Guest"), link.short_code);
  await stream.notification(1);
  for (let i = 0; i < 100 && (await getCall(app, host, started.call.id)).notified_at === null; i++) await new Promise((r) => setTimeout(r, 20));
  const rang = (await getCall(app, host, started.call.id)).notified_at;
  t.ok(rang, "rung by the live channel");
  await advance(app, clock, 10_000);
  t.same(await mailsTo(await emailOf(host)), [], "no mail");
  t.equal((await getCall(app, host, started.call.id)).notified_at, rang, "the first ring stays");
});

t.test("preferences and language: a host who turned the mail off gets none (and the call has not rung); a Spanish host gets Spanish", async (t) => {
  const quiet = await makeUser(app, "host", "Quiet Host");
  t.equal((await patchMe(quiet, { notification_preferences: { email_incoming_call: false } })).statusCode, 200);
  const quietCall = await startCall(app, await makeGuest(app, "Unheard"), (await createLink(app, quiet)).short_code);
  const spanish = await makeUser(app, "host", "Sofía");
  t.equal((await patchMe(spanish, { language: "es" })).statusCode, 200);
  await startCall(app, await makeGuest(app, "Gael"), (await createLink(app, spanish, { rate_per_minute: "12.50" })).short_code);
  await advance(app, clock, 5_000);

  t.same(await mailsTo(await emailOf(quiet)), [], "no mail when turned off");
  t.equal((await getCall(app, quiet, quietCall.call.id)).notified_at, null, "so the call has not rung");
  const [es] = await mailsTo(await emailOf(spanish));
  t.match(es, { subject: "Gael te está esperando" });
  t.match(es!.text, "Hola, Sofía:");
  t.match(es!.text, /Tarifa:\s+12,50\sUS\$ por minuto/, "amounts written the Spanish way");
  t.match(es!.html, /<html lang="es">/);
});

t.test("a no-show: call_missed and a missed-call mail for the host; call_cancelled for a signed-in guest, a cancellation mail to a guest who gave an address", async (t) => {
  const host = await makeUser(app, "host", "Absent Host");
  const link = await createLink(app, host);
  const byToken = await apiGuest("Florence", "  flo@example.test ", "fr-FR,fr;q=0.9");
  t.equal((await app.db.guest.findUniqueOrThrow({ where: { id: byToken.id } })).email, "flo@example.test", "the guest's address, trimmed");
  const member = await makeUser(app, "verified_user", "Member Guest");
  const first = await startCall(app, byToken, link.short_code);
  const second = await startCall(app, member, link.short_code);
  await advance(app, clock, 5 * 60_000 + 1_000);

  const hostNotices = (await notices(host)).filter((n) => n.type === "call_missed");
  t.same(hostNotices.map((n) => n.data.call_id).sort(), [first.call.id, second.call.id].sort(), "the host: one call_missed per call");
  const missedMails = (await mailsTo(await emailOf(host))).filter((m) => m.subject.startsWith("You missed a call"));
  t.same(missedMails.map((m) => m.subject).sort(), ["You missed a call from Florence", "You missed a call from Member Guest"]);

  const memberNotices = await notices(member);
  t.match(memberNotices, [{ type: "call_cancelled", data: { call_id: second.call.id, host_display_name: "Absent Host", end_reason: "host_no_show" } }]);
  const [cancelled] = await mailsTo("flo@example.test");
  t.equal(cancelled?.subject, "Absent Host n'a pas pu prendre votre appel", "the guest's mail, in the guest's language");
  t.match(cancelled!.text, "Bonjour Florence");
  t.equal((await mailsTo(await emailOf(member))).length, 1, "the member guest too (receipts are on)");
  t.equal((await getCall(app, byToken, first.call.id)).amount_charged, "0.00", "and nothing was charged");
});

/**
 * A 12.5-minute call at $3.00 a minute in 10-minute windows: window 1 is 10 minutes ($30.00, fee
 * $2.10), window 2 three started minutes ($9.00, fee $0.63): $39.00 for 13 minutes, $36.27 to the host.
 */
async function paidCall(t: Test, host: Party, guest: Party, shortCode: string) {
  const call = await activeCall(app, host, shortCode, guest);
  await advance(app, clock, 9 * 60_000); // window 2's hold
  await advance(app, clock, 60_000); // window 1's capture
  await advance(app, clock, 150_000);
  const ended = await app.inject({ method: "POST", url: `/v1/calls/${call.id}/end`, headers: bearer(guest.token) });
  t.equal(ended.statusCode, 200, ended.body);
  t.match(ended.json().call, { status: "completed", amount_charged: "39.00" });
  await Promise.all([call.g.close(), call.h.close()]);
  // The end answers once the call is settled; its notices are the ticker's next step.
  await advance(app, clock, 0);
  return call;
}

t.test("a completed call: the guest's receipt and the host's earnings, with the exact amounts", async (t) => {
  const host = await makeUser(app, "host", "Paid Host");
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
  const member = await makeUser(app, "verified_user", "Paying Member");
  const { id } = await paidCall(t, host, member, link.short_code);

  const [receipt, ...more] = await mailsTo(await emailOf(member));
  t.equal(more.length, 0, "one mail to the guest");
  t.equal(receipt?.subject, "Your receipt for the call with Paid Host: $39.00");
  t.match(receipt!.text, /Minutes charged:\s+13\n/);
  t.match(receipt!.text, /Billing windows:\s+2\n/);
  t.match(receipt!.text, /Rate:\s+\$3\.00 per minute/);
  t.match(receipt!.text, /Total charged:\s+\$39\.00/);
  t.match(receipt!.text, new RegExp(`Call:\\s+${id}\n`));
  const earnings = (await mailsTo(await emailOf(host))).filter((m) => m.subject.startsWith("You earned"));
  t.equal(earnings.length, 1, "one earnings mail to the host");
  t.equal(earnings[0]!.subject, "You earned $36.27 from your call with Paying Member");
  t.match(earnings[0]!.text, /Paid by the guest:\s+\$39\.00/);
  t.match(earnings[0]!.text, /Platform fee:\s+\$2\.73/);
  t.match(earnings[0]!.text, /Your earnings:\s+\$36\.27/);

  const about = { call_id: id, link_id: link.id, short_code: link.short_code };
  const hostNotices = await notices(host);
  t.match(hostNotices.map((n) => n.type), ["call_incoming", "call_ended", "earning_recorded"]);
  t.same(hostNotices[2]!.data, { ...about, guest_display_name: "Paying Member", billed_minutes: 13, gross_amount: "39.00", fee_amount: "2.73", net_amount: "36.27" });
  const guestNotices = await notices(member);
  t.same(guestNotices.map((n) => n.type), ["call_ended", "payment_captured"]);
  t.match(guestNotices[0]!.data, { ...about, end_reason: "guest_ended", billed_minutes: 13, amount_charged: "39.00" });
  t.same(guestNotices[1]!.data, { ...about, host_display_name: "Paid Host", billed_minutes: 13, windows: 2, rate_per_minute: "3.00", amount: "39.00" });

  // The amounts are the captures' (what GET /v1/payments/history shows the guest).
  const captures = await app.db.capture.findMany({ where: { callId: fromUlid(id)! } });
  t.same([captures.reduce((s, c) => s + c.grossCents, 0), captures.reduce((s, c) => s + c.feeCents, 0), captures.reduce((s, c) => s + c.netCents, 0)], [3900, 273, 3627]);
});

t.test("a guest without an account who gave an address gets the receipt; a host with receipts off gets the notice, not the mail", async (t) => {
  const host = await makeUser(app, "host", "Private Host");
  t.equal((await patchMe(host, { notification_preferences: { email_receipts: false } })).statusCode, 200);
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
  const guest = await apiGuest("Gus", "gus@example.test", "en");
  await paidCall(t, host, guest, link.short_code);
  const mails = await mailsTo("gus@example.test");
  t.same(mails.map((m) => m.subject), ["Your receipt for the call with Private Host: $39.00"]);
  t.same((await mailsTo(await emailOf(host))).filter((m) => m.subject.startsWith("You earned")), [], "no earnings mail");
  t.match((await notices(host)).map((n) => n.type), ["call_incoming", "call_ended", "earning_recorded"], "but the notices");
});

t.test("a notice step that fails is retried later, and no one is told twice (nor mailed twice)", async (t) => {
  // A real fault in the database: the first payment_captured insert fails (a sequence is not
  // rolled back), after the host's earnings notice is stored and its mail queued.
  await app.db.$executeRawUnsafe(`CREATE SEQUENCE "fault_once"`);
  await app.db.$executeRawUnsafe(`
    CREATE FUNCTION "fail_first_receipt"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW."type" = 'payment_captured' AND nextval('fault_once') = 1 THEN RAISE EXCEPTION 'injected fault'; END IF;
      RETURN NEW;
    END $$`);
  await app.db.$executeRawUnsafe(`CREATE TRIGGER "fail_first_receipt" BEFORE INSERT ON "notifications" FOR EACH ROW EXECUTE FUNCTION "fail_first_receipt"()`);
  t.teardown(() => app.db.$executeRawUnsafe(`DROP TRIGGER "fail_first_receipt" ON "notifications"`));

  const host = await makeUser(app, "host", "Retried Host");
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
  const member = await makeUser(app, "verified_user", "Retried Member");
  const { id } = await paidCall(t, host, member, link.short_code);
  const earningsMails = async () => (await mailsTo(await emailOf(host))).filter((m) => m.subject.startsWith("You earned"));
  t.same((await notices(host)).map((n) => n.type), ["call_incoming", "call_ended", "earning_recorded"], "the step stopped at the fault");
  t.same((await notices(member)).map((n) => n.type), ["call_ended"]);
  t.equal((await earningsMails()).length, 1, "the earnings mail went with its notice");
  t.same(await mailsTo(await emailOf(member)), [], "the receipt did not: its notice is not stored");
  const task = await app.db.callTask.findFirstOrThrow({ where: { callId: fromUlid(id)!, kind: "notices" } });
  t.match(task, { status: "pending", attempts: 1 }, "the notices task waits for its retry");

  await advance(app, clock, 5_000);
  t.same((await notices(host)).map((n) => n.type), ["call_incoming", "call_ended", "earning_recorded"], "each notice once");
  t.same((await notices(member)).map((n) => n.type), ["call_ended", "payment_captured"]);
  t.equal((await mailsTo(await emailOf(member))).length, 1, "one receipt");
  t.equal((await earningsMails()).length, 1, "still one earnings mail: the retry did not send it again");
  t.match(await app.db.callTask.findFirstOrThrow({ where: { id: task.id } }), { status: "done" });
});

t.test("a hold that fails mid-call: payment_failed for a signed-in guest, with what the paid window cost", async (t) => {
  const host = await makeUser(app, "host", "Declined Host");
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
  const member = await makeUser(app, "verified_user", "Declined Member");
  const started = await startCall(app, member, link.short_code, "pm_card_declineAfterFirstHold");
  const joined = await join(app, host, started.call.id);
  const [g, h] = await Promise.all([connect(app, started.signaling_token), connect(app, joined.signaling_token)]);
  t.teardown(() => Promise.all([g.close(), h.close()]));
  await Promise.all([g.next("billing"), h.next("billing")]);
  await advance(app, clock, 9 * 60_000); // window 2's hold is declined
  await advance(app, clock, 60_000); // the call ends at the end of window 1
  t.match(await getCall(app, member, started.call.id), { status: "failed", end_reason: "billing_failed", amount_charged: "30.00" });
  const about = { call_id: started.call.id, link_id: link.id, short_code: link.short_code };
  t.match(await notices(member), [
    { type: "call_ended", data: { ...about, end_reason: "billing_failed", amount_charged: "30.00", billed_minutes: 10 } },
    { type: "payment_failed", data: { ...about, end_reason: "billing_failed", amount_charged: "30.00" } },
    { type: "payment_captured", data: { amount: "30.00", windows: 1 } },
  ]);
  t.same((await mailsTo(await emailOf(member))).map((m) => m.subject), ["Your receipt for the call with Declined Host: $30.00"]);
});

t.test("a refund: refund_issued for a signed-in guest, once however often the refund is recorded", async (t) => {
  const host = await makeUser(app, "host", "Refunding Host");
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
  const member = await makeUser(app, "verified_user", "Refunded Member");
  const { id } = await paidCall(t, host, member, link.short_code);
  const history = await app.inject({ method: "GET", url: "/v1/payments/history", headers: bearer(member.token) });
  const charge = (history.json().data as { type: string; payment_id: string; amount: string }[]).find((e) => e.type === "charge" && e.amount === "30.00")!;
  const admin = await makeUser(app, "admin");
  const refund = () =>
    app.inject({
      method: "POST",
      url: `/v1/admin/payments/${charge.payment_id}/refund`,
      headers: { ...json, ...bearer(admin.token), "x-idempotency-key": "7a1c9e44-0000-4000-8000-00000000000a" },
      payload: { amount: "10.00", reason: "requested_by_customer" },
    });
  const first = await refund();
  t.equal(first.statusCode, 201, first.body);
  t.equal((await refund()).statusCode, 201, "the same request again (its idempotency key)");
  const refunds = (await notices(member)).filter((n) => n.type === "refund_issued");
  t.same(refunds.map((n) => n.data), [{ call_id: id, refund_id: first.json().refund.id, amount: "10.00", reason: "requested_by_customer", status: "succeeded" }], "one notice");
  t.same((await notices(host)).filter((n) => n.type === "refund_issued"), [], "the host is not told (their history shows it)");
});

t.test("an account whose address is not confirmed gets the receipt as a notice, not as a mail", async (t) => {
  const host = await makeUser(app, "host", "Careful Host");
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
  const unconfirmed = await makeUser(app, "user", "Unconfirmed Member");
  await paidCall(t, host, unconfirmed, link.short_code);
  t.match((await notices(unconfirmed)).map((n) => n.type), ["call_ended", "payment_captured"]);
  t.same(await mailsTo(await emailOf(unconfirmed)), [], "no mail to an address its owner never confirmed");
});

t.test("a notification of a type this version does not know (a newer instance's) is left out, not a failed list", async (t) => {
  const user = await makeUser(app, "verified_user", "Future Reader");
  const known = await app.services.notifications.notify(user.id, "payout_paid", { payout_id: "01JDB2W4C7H9K1M3P5R7T9V1XZ", amount: "1.00", currency: "usd", arrival_at: null, failure_code: null });
  await app.db.notification.create({ data: { id: "01937000-0000-7000-8000-00000000f0f0", userId: user.id, type: "call_rescheduled", data: { call_id: "x", at: "later" }, createdAt: new Date(clock.now()) } });
  const listed = await notices(user);
  t.same(listed.map((n) => n.type), ["payout_paid"], "listed: the known one");
  t.equal(listed[0]!.data.payout_id, "01JDB2W4C7H9K1M3P5R7T9V1XZ");
  const count = await app.inject({ method: "GET", url: "/v1/notifications/unread-count", headers: bearer(user.token) });
  t.same(count.json(), { count: 1 }, "and counted");
  t.ok(known);
});
