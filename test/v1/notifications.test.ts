// Notifications (docs/notifications.md): a host learns that a guest is waiting the moment the guest
// initiates, over the live channel (GET /v1/events, a real HTTP client reading the stream), also
// when host and guest are on different instances; a no-show leaves a call_missed; the list, unread
// count, marking read and resuming a stream with Last-Event-ID.
import t from "tap";
import { MemoryPubSub } from "../../src/adapters/pubsub/memory.ts";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { HEARTBEAT_MS } from "../../src/routes/v1/event-streams.ts";
import { sharedDatabase, testApp } from "../helpers/app.ts";
import { advance, bearer, createLink, makeGuest, makeUser, startCall } from "../helpers/calls.ts";
import { EventStream } from "../helpers/events.ts";

const { app, clock } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
await app.listen({ port: 0, host: "127.0.0.1" });

const list = async (token: string, query = "") => {
  const res = await app.inject({ method: "GET", url: `/v1/notifications${query}`, headers: bearer(token) });
  t.equal(res.statusCode, 200, res.body);
  return res.json() as { data: Record<string, any>[]; pagination: Record<string, unknown> };
};
const unread = async (token: string) => (await app.inject({ method: "GET", url: "/v1/notifications/unread-count", headers: bearer(token) })).json().count as number;

t.test("a host with the live channel open hears of a waiting guest as the guest initiates", async (t) => {
  const host = await makeUser(app, "host", "Hana");
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
  const stream = await EventStream.open(app, host.token);
  t.teardown(() => stream.abort());
  t.equal(stream.response.status, 200);
  t.match(stream.response.headers.get("content-type"), /^text\/event-stream/);
  t.equal(stream.response.headers.get("cache-control"), "no-store");
  t.equal(stream.response.headers.get("content-encoding"), null, "never compressed (events would wait for a block to fill)");
  t.equal(stream.response.headers.get("access-control-allow-origin"), "*", "a web client on another origin may read it");
  t.ok(stream.response.headers.get("x-request-id"), "and it carries the request id");
  t.ok(stream.response.headers.get("x-ratelimit-remaining"), "and the rate-limit headers of its policy");

  const guest = await makeGuest(app, "Gina");
  const started = await startCall(app, guest, link.short_code);
  const n = await stream.notification(1);
  t.match(n, {
    type: "call_incoming",
    data: { call_id: started.call.id, link_id: link.id, short_code: link.short_code, guest_display_name: "Gina", rate_per_minute: "3.00", window_size_minutes: 10 },
    read_at: null,
  });
  t.equal(stream.events.find((e) => e.event === "notification")!.id, n.id, "the event id is the notification's id (for Last-Event-ID)");
  t.same((await list(host.token)).data, [n], "and it is stored");
  t.equal(await unread(host.token), 1);
  const rung = async () => (await app.inject({ method: "GET", url: `/v1/calls/${started.call.id}`, headers: bearer(host.token) })).json().call.notified_at as string | null;
  for (let i = 0; i < 100 && (await rung()) === null; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(await rung(), new Date(clock.now()).toISOString(), "the waiting call has rung: the host's stream received it");
});

t.test("across instances: the stream on one instance, the initiate on another", async (t) => {
  const { database, dataDir, databaseUrl } = await sharedDatabase(t, "vidivo-events-");
  const pubsub = new MemoryPubSub();
  const shared = new ManualClock(new Date());
  const opts = { dataDir, ...(databaseUrl ? { databaseUrl } : {}), overrides: { database, pubsub, clock: shared, tickIntervalMs: 0 } };
  const { app: a } = await testApp(t, opts);
  const { app: b } = await testApp(t, opts);
  await a.listen({ port: 0, host: "127.0.0.1" });
  await b.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(a, "host", "Hal");
  const link = await createLink(a, host);
  const stream = await EventStream.open(a, host.token);
  t.teardown(() => stream.abort());
  const started = await startCall(b, await makeGuest(b, "Bea"), link.short_code);
  t.match(await stream.notification(1), { type: "call_incoming", data: { call_id: started.call.id, guest_display_name: "Bea" } }, "B's notice reaches A's stream");
  t.equal(a.services.events.size, 1);
  t.equal(b.services.events.size, 0);
});

t.test("a host who never joins gets call_missed", async (t) => {
  const host = await makeUser(app, "host", "Absent Host");
  const link = await createLink(app, host);
  const started = await startCall(app, await makeGuest(app, "Waiting Guest"), link.short_code);
  await advance(app, clock, 5 * 60_000 + 1000);
  const { data } = await list(host.token);
  t.match(data.map((n) => n.type), ["call_missed", "call_incoming"], "newest first");
  t.match(data[0], { data: { call_id: started.call.id, link_id: link.id, short_code: link.short_code, guest_display_name: "Waiting Guest" } });
  const call = await app.inject({ method: "GET", url: `/v1/calls/${started.call.id}`, headers: bearer(host.token) });
  t.match(
    call.json(),
    { call: { status: "cancelled", end_reason: "host_no_show", notified_at: new Date(clock.now()).toISOString() } },
    "it rang by e-mail: no stream of the host's was open (test/v1/notification-mail.test.ts)",
  );
});

t.test("unread count, marking read, read-all, and another user's notification", async (t) => {
  const host = await makeUser(app, "host", "Reader");
  const other = await makeUser(app, "host", "Other");
  const link = await createLink(app, host);
  for (const name of ["One", "Two", "Three"]) await startCall(app, await makeGuest(app, name), link.short_code);
  t.equal(await unread(host.token), 3);
  const [newest, middle] = (await list(host.token)).data;
  t.equal(newest!.data.guest_display_name, "Three");

  const read = (token: string, id: string) => app.inject({ method: "PUT", url: `/v1/notifications/${id}/read`, headers: bearer(token) });
  t.equal((await read(other.token, newest!.id)).statusCode, 404, "another user's notification: not found");
  t.equal(await unread(host.token), 3, "and still unread");
  t.equal((await read(host.token, newest!.id)).statusCode, 204);
  const firstRead = (await list(host.token)).data[0]!.read_at as string;
  t.ok(firstRead);
  clock.advance(1000);
  t.equal((await read(host.token, newest!.id)).statusCode, 204, "again: still 204");
  t.equal((await list(host.token)).data[0]!.read_at, firstRead, "the first read_at stays");
  t.equal(await unread(host.token), 2);
  t.same((await list(host.token, "?unread=true")).data.map((n) => n.id), [middle!.id, (await list(host.token)).data[2]!.id], "unread only");
  const page = await list(host.token, "?limit=1");
  t.equal(page.data.length, 1);
  t.same((await list(host.token, `?limit=5&cursor=${page.pagination.cursor as string}`)).data.map((n) => n.data.guest_display_name), ["Two", "One"], "pages continue");

  const all = await app.inject({ method: "POST", url: "/v1/notifications/read-all", headers: bearer(host.token) });
  t.equal(all.statusCode, 204);
  t.equal(await unread(host.token), 0);
  t.equal((await list(host.token, "?unread=true")).data.length, 0);

  const guest = await makeGuest(app);
  t.equal((await app.inject({ method: "GET", url: "/v1/notifications", headers: bearer(guest.token) })).statusCode, 401, "a guest token has no notifications");
  t.equal((await app.inject({ method: "GET", url: "/v1/events", headers: bearer(guest.token) })).statusCode, 401, "nor a live channel");
});

t.test("Last-Event-ID: a stream resumed after the last event it saw gets what it missed, then live ones", async (t) => {
  const host = await makeUser(app, "host", "Resumer");
  const link = await createLink(app, host);
  await startCall(app, await makeGuest(app, "Before"), link.short_code);
  const [seen] = (await list(host.token)).data;
  await startCall(app, await makeGuest(app, "Missed 1"), link.short_code);
  await startCall(app, await makeGuest(app, "Missed 2"), link.short_code);
  const stream = await EventStream.open(app, host.token, { "last-event-id": seen!.id });
  t.teardown(() => stream.abort());
  await stream.notification(2);
  await startCall(app, await makeGuest(app, "Live"), link.short_code);
  await stream.notification(3);
  t.same(stream.notifications.map((n) => n.data.guest_display_name), ["Missed 1", "Missed 2", "Live"], "oldest first, each once");

  const other = await makeUser(app, "host", "Not The Owner");
  const foreign = await EventStream.open(app, other.token, { "last-event-id": seen!.id });
  t.teardown(() => foreign.abort());
  t.equal(foreign.response.status, 200, "another user's notification id as Last-Event-ID is no error");
  const garbled = await EventStream.open(app, other.token, { "last-event-id": "not-an-id" });
  t.teardown(() => garbled.abort());
  t.equal(garbled.response.status, 200, "nor is an id that is none");
  await startCall(app, await makeGuest(app, "Only Live"), (await createLink(app, other)).short_code);
  await garbled.notification(1);
  t.same(garbled.notifications.map((n) => n.data.guest_display_name), ["Only Live"], "they resume nothing: only live notifications, none of another user's");
});

t.test("one stream per token, heartbeats, and the end at the token's expiry", async (t) => {
  const host = await makeUser(app, "host", "Streamer");
  const token = host.token;
  const first = await EventStream.open(app, token);
  t.teardown(() => first.abort());
  const second = await EventStream.open(app, token);
  t.teardown(() => second.abort());
  await first.until("the first stream is replaced", () => first.ended);
  t.same(first.events.map((e) => e.event), ["replaced"]);
  t.notOk(second.ended, "the newer stream stays");

  const other = await EventStream.open(app, host.token);
  t.teardown(() => other.abort());
  t.notOk(second.ended, "a stream of another token of the same user stays too");

  clock.advance(HEARTBEAT_MS);
  app.services.events.sweep();
  await second.until("a heartbeat", () => second.comments.includes("heartbeat"));

  clock.advance(15 * 60_000);
  app.services.events.sweep();
  await second.until("the end at expiry", () => second.ended);
  t.same(second.events.map((e) => e.event), ["token_expired"]);

  other.abort();
  for (let i = 0; i < 250 && app.services.events.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(app.services.events.size, 0, "streams whose client left are let go");
});

t.test("two streams opened at once with one token: the later one stays", async (t) => {
  const host = await makeUser(app, "host", "Twin Tabs");
  const token = host.token;
  const [a, b] = await Promise.all([EventStream.open(app, token), EventStream.open(app, token)]);
  t.teardown(() => (a.abort(), b.abort()));
  await (a.until("one ends", () => a.ended || b.ended));
  await new Promise((r) => setTimeout(r, 200));
  t.equal([a, b].filter((s) => s.ended).length, 1, "exactly one of them is replaced");
  const survivor = a.ended ? b : a;
  await startCall(app, await makeGuest(app, "Still Heard"), (await createLink(app, host)).short_code);
  t.match(await survivor.notification(1), { data: { guest_display_name: "Still Heard" } });
});

t.test("HEAD opens no stream", async (t) => {
  const host = await makeUser(app, "host", "Header Only");
  const before = app.services.events.size;
  const res = await app.inject({ method: "HEAD", url: "/v1/events", headers: bearer(host.token) });
  t.equal(res.statusCode, 405);
  t.ok(app.services.events.size <= before, "no stream was opened");
});

t.test("an instance that stops ends its streams (the client reconnects elsewhere)", async (t) => {
  const { app: stopping } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  await stopping.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(stopping, "host", "Moving Host");
  const stream = await EventStream.open(stopping, host.token);
  t.teardown(() => stream.abort());
  await stopping.close();
  await stream.until("the stream ends", () => stream.ended);
  t.same(stream.events, [], "without an event");
});
