// An idempotency key (docs/api.md, "Idempotency keys") heals after a failure, and the store keeps
// no usable secret. A request that got a 5xx in a database outage (its key release failed too) or
// whose process was killed no longer blocks its key: once its claim's lease has lapsed, a retry
// with the same key and body runs, with exactly one effect; a duplicate of a request still running
// waits and gets 409, even past the first lease (the claim is extended while it runs). A replayed
// initiate carries a newly issued signaling token and fresh TURN credentials; the stored answer
// has neither; once the call has ended a replay says so.
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import t from "tap";
import type { PaymentProvider, HoldInput } from "../../src/domain/ports/payments.ts";
import { simulatedPayments } from "../../src/adapters/payments/simulated.ts";
import type { Database, Sql } from "../../src/db/client.ts";
import type { PrismaClient } from "../../src/db/generated/client.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { CLAIM_LEASE_MS } from "../../src/plugins/idempotency.ts";
import { freshDatabaseUrl, sharedDatabase, testApp } from "../helpers/app.ts";
import { startServer } from "../helpers/process.ts";
import { delegate, bearer, connect, createLink, json, makeGuest, makeUser, refusedStatus, type Party } from "../helpers/calls.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (every 50 ms, up to `limitMs` real time) until it holds; false if it never did. */
async function eventually(check: () => Promise<boolean>, limitMs = 15_000) {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

function initiateWith(app: { inject: (o: object) => any }, guest: Party, key: string, body: Record<string, unknown>) {
  return app.inject({
    method: "POST",
    url: "/v1/calls/initiate",
    headers: { ...json, ...bearer(guest.token), "x-idempotency-key": key },
    payload: body,
  }) as Promise<{ statusCode: number; body: string; json(): any }>;
}

/**
 * The simulated provider behind a switch: the next hold fails as an unreachable provider does, or
 * waits at a gate the test opens.
 */
function controlledPayments() {
  let inner: PaymentProvider | undefined;
  const control = {
    failNextHold: false,
    gate: null as null | { entered: () => void; opened: Promise<void> },
    /** The next hold waits; resolves `holding` when it has begun, finishes when `open()` is called. */
    closeGate() {
      let entered!: () => void;
      let open!: () => void;
      const holding = new Promise<void>((r) => (entered = r));
      const opened = new Promise<void>((r) => (open = r));
      control.gate = { entered, opened };
      return { holding, open };
    },
  };
  const provider = delegate({
    name: "controlled",
    hold: async (input: HoldInput) => {
      if (control.failNextHold) {
        control.failNextHold = false;
        throw new Error("payment provider unreachable");
      }
      const gate = control.gate;
      if (gate) {
        control.gate = null;
        gate.entered();
        await gate.opened;
      }
      return inner!.hold(input);
    },
  }, () => inner);
  return { provider, control, attach: (p: PaymentProvider) => (inner = p) };
}

t.test("idempotency keys heal, and keep no secret", async (t) => {
  const { database, dataDir, databaseUrl } = await sharedDatabase(t, "vidivo-idem-");
  // The outage: once armed, from the moment a key's claim is written every statement fails as it
  // does when the database goes away (the handler's first read, the 500's key release, the
  // heartbeat), until the test ends it. It sits below the app: the app's own code meets it unchanged.
  const outage = { armed: false, down: false };
  const prisma = database.prisma.$extends({
    query: {
      async $allOperations({ model, operation, args, query }) {
        if (outage.down) throw new Error("Connection terminated unexpectedly (simulated database outage)");
        const result = await query(args);
        if (outage.armed && model === "IdempotencyKey" && operation === "create") {
          outage.armed = false;
          outage.down = true;
        }
        return result;
      },
    },
  }) as unknown as PrismaClient;
  // Raw statements too (the caller read, the billing engine, the simulated provider's records).
  const sql: Sql = {
    query: <T,>(text: string, values?: unknown[]) =>
      outage.down ? Promise.reject(new Error("Connection terminated unexpectedly (simulated database outage)")) : database.sql.query<T>(text, values),
  };
  const payments = controlledPayments();
  const { app, clock } = await testApp(t, {
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    overrides: { database: { ...database, prisma, sql } satisfies Database, payments: payments.provider, tickIntervalMs: 0 },
  });
  payments.attach(simulatedPayments(app.sql, app.clock));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app, "host", "Hal");
  const link = await createLink(app, host);
  const body = { short_code: link.short_code, payment_method_id: "pm_card_visa" };
  /** A new guest, and counts of what their initiate calls did. */
  const newGuest = async () => {
    const guest = await makeGuest(app);
    const effects = async () => ({
      calls: await app.db.call.count({ where: { guestId: guest.id } }),
      holds: await app.db.simPaymentIntent.count({ where: { reference: { in: (await app.db.call.findMany({ where: { guestId: guest.id } })).map((c) => c.id) } } }),
    });
    return { guest, effects };
  };
  const uses = async () => (await app.db.callLink.findUniqueOrThrow({ where: { shortCode: link.short_code } })).useCount;
  const keyRows = (key: string) => app.db.idempotencyKey.findMany({ where: { key } });

  await t.test("database outage mid-request (5xx, and the key's release fails too), then a retry: 201, one call, one hold", async (t) => {
    const { guest, effects } = await newGuest();
    const key = "2f1e0d9c-8b7a-4654-8321-0fedcba98765";
    const usesBefore = await uses();
    outage.armed = true;
    const failed = await initiateWith(app, guest, key, body);
    outage.down = false; // the database is back
    t.equal(failed.statusCode, 500, "the request fails in the outage");
    t.equal(failed.json().error.code, "internal_error");
    t.same((await keyRows(key)).map((k) => k.statusCode), [null], "the failed request's claim is still there: its release failed in the outage");

    // Past the claim's lease (nothing extends it: the request has ended), the same key and body run again.
    clock.advance(CLAIM_LEASE_MS + 1);
    const retry = await initiateWith(app, guest, key, body);
    t.equal(retry.statusCode, 201, retry.body);
    t.equal(retry.json().call.status, "waiting");
    t.same(await effects(), { calls: 1, holds: 1 }, "one call, one hold at the provider");
    t.equal(await uses(), usesBefore + 1, "one use counted");
    const again = await initiateWith(app, guest, key, body);
    t.equal(again.statusCode, 201);
    t.equal(again.json().call.id, retry.json().call.id, "from then on the key replays that call");
    t.same(await effects(), { calls: 1, holds: 1 });
  });

  await t.test("a 5xx releases its key at once when the database is up: the retry runs without waiting", async (t) => {
    const { guest, effects } = await newGuest();
    const key = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    payments.control.failNextHold = true;
    t.equal((await initiateWith(app, guest, key, body)).statusCode, 500);
    t.same(await keyRows(key), [], "released");
    const retry = await initiateWith(app, guest, key, body);
    t.equal(retry.statusCode, 201, retry.body);
    t.equal((await effects()).holds, 1, "one hold");
  });

  await t.test("a duplicate of a request still running waits and gets 409, also past the first lease; once it is done, the replay", async (t) => {
    const { guest, effects } = await newGuest();
    const key = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
    const gate = payments.control.closeGate();
    const first = initiateWith(app, guest, key, body);
    await gate.holding; // the first request is placing its hold
    const firstLease = (await keyRows(key))[0]?.claimedUntil?.getTime() ?? 0;
    t.ok(firstLease > clock.now(), "the claim has a lease");
    // Time passes while the hold is pending; the running request extends its claim.
    clock.advance(CLAIM_LEASE_MS - 1000);
    const extended = await eventually(async () => ((await keyRows(key))[0]?.claimedUntil?.getTime() ?? 0) > firstLease);
    t.ok(extended, "the claim of the running request is extended");
    clock.advance(2000); // past the first lease, within the extended one
    const duplicate = await initiateWith(app, guest, key, body);
    t.equal(duplicate.statusCode, 409, duplicate.body);
    t.equal(duplicate.json().error.code, "conflict", "the running request keeps its key");

    const waiting = initiateWith(app, guest, key, body); // waits for the first…
    await sleep(100);
    gate.open(); // …which now finishes
    const [done, replayed] = await Promise.all([first, waiting]);
    t.equal(done.statusCode, 201, done.body);
    t.equal(replayed.statusCode, 201, replayed.body);
    t.equal(replayed.json().call.id, done.json().call.id, "the waiting duplicate gets the first call");
    t.same(await effects(), { calls: 1, holds: 1 });
  });

  await t.test("a client that gives up mid-request and retries gets the call that request made, not a second one", async (t) => {
    const { guest, effects } = await newGuest();
    const key = "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b";
    const gate = payments.control.closeGate();
    const { port } = app.server.address() as { port: number };
    const payload = JSON.stringify(body);
    const aborted = new Promise<string>((resolve) => {
      const req = http.request(
        { host: "127.0.0.1", port, method: "POST", path: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token), "x-idempotency-key": key, "content-length": Buffer.byteLength(payload) } },
        (res) => resolve(`answered ${res.statusCode}`),
      );
      req.on("error", () => resolve("aborted"));
      req.end(payload);
      void gate.holding.then(() => req.destroy()); // the client gives up while the hold is pending
    });
    t.equal(await aborted, "aborted");
    const retry = initiateWith(app, guest, key, body); // waits for the abandoned request…
    await sleep(200);
    gate.open(); // …which finishes on the server all the same
    const answer = await retry;
    t.equal(answer.statusCode, 201, answer.body);
    t.same(await effects(), { calls: 1, holds: 1 }, "the retry got the abandoned request's call");
    t.same((await keyRows(key)).map((k) => [k.statusCode, k.claimedUntil]), [[201, null]], "its answer is stored and the claim ended");
  });

  await t.test("a replayed initiate carries a new working signaling token and fresh TURN credentials; none is stored", async (t) => {
    const { guest } = await newGuest();
    const key = "6c5d4e3f-2a1b-4c0d-9e8f-7a6b5c4d3e2f";
    // A name that JSON escapes, so that "the rest byte for byte" means something.
    const named = { ...body, guest_name: 'Zoë "Q" </b> \\ ☎ 😀' };
    const first = await initiateWith(app, guest, key, named);
    t.equal(first.statusCode, 201, first.body);
    const original = first.json();

    // The original token opens a socket, once.
    const g1 = await connect(app, original.signaling_token);
    await g1.next("welcome");
    await g1.close();
    t.equal(await refusedStatus(app, original.signaling_token), 401, "the first token was single use");

    clock.advance(60_000);
    const replay = await initiateWith(app, guest, key, named);
    t.equal(replay.statusCode, 201, replay.body);
    const again = replay.json();
    t.not(again.signaling_token, original.signaling_token, "a new signaling token");
    t.not(again.turn_credentials.username, original.turn_credentials.username, "new TURN credentials (later expiry)");
    t.same(again.turn_credentials, app.services.calls.turnFor(fromUlid(original.call.id)!), "valid for the call now");
    const g2 = await connect(app, again.signaling_token);
    await g2.next("welcome");
    await g2.close();
    t.equal(
      replay.body
        .replace(JSON.stringify(again.signaling_token), JSON.stringify(original.signaling_token))
        .replace(JSON.stringify(again.turn_credentials), JSON.stringify(original.turn_credentials)),
      first.body,
      "the rest of the body is byte for byte the first answer",
    );

    const rows = await app.db.$queryRawUnsafe<{ response_body: string }[]>("SELECT response_body FROM idempotency_keys WHERE key = $1", key);
    t.equal(rows.length, 1);
    const stored = rows[0]!.response_body;
    t.notMatch(stored, /st_/, "no signaling token at rest");
    for (const secret of [original.turn_credentials.credential, again.turn_credentials.credential, original.turn_credentials.username]) {
      t.notOk(stored.includes(secret), "no TURN credential at rest");
    }
    t.match(JSON.parse(stored), { call: { id: original.call.id }, signaling_token: null, turn_credentials: null });
  });

  await t.test("a replay once the call has ended: 409 call_not_active with the call's status and id", async (t) => {
    const { guest, effects } = await newGuest();
    const key = "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a";
    const first = await initiateWith(app, guest, key, body);
    t.equal(first.statusCode, 201);
    const id = first.json().call.id as string;
    const ended = await app.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
    t.equal(ended.json().call.status, "cancelled");
    const tokensBefore = await app.db.signalingToken.count();
    const replay = await initiateWith(app, guest, key, body);
    t.equal(replay.statusCode, 409, replay.body);
    t.equal(replay.json().error.code, "call_not_active");
    t.same(replay.json().error.details, { status: "cancelled", call_id: id });
    t.equal(await app.db.signalingToken.count(), tokensBefore, "no token issued for an ended call");
    t.same(await effects(), { calls: 1, holds: 1 }, "nothing placed again");
  });
});

// Process level, PostgreSQL only: PGlite's data directory is not reliably reopened after kill -9.
t.test(
  "kill -9 while a request holds its key, restart, retry: 201, one call, one hold",
  { skip: process.env.DATABASE_URL ? false : "needs PostgreSQL (DATABASE_URL): a process is killed with its database connections open" },
  async (t) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-idem-kill-"));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const databaseUrl = (await freshDatabaseUrl(t))!;
    // Set up through an in-process instance (it also writes the dev signing key the child uses).
    const setup = await testApp(t, { dataDir, databaseUrl, overrides: { tickIntervalMs: 0 } });
    const host = await makeUser(setup.app, "host", "Hal");
    const guest = await makeGuest(setup.app);
    const link = await createLink(setup.app, host);
    const guestToken = guest.token;
    await setup.app.close();

    // The same issuer as the test instances, so the guest token signed by the setup instance is valid.
    const server = await startServer(t, { DATA_DIR: dataDir, DATABASE_URL: databaseUrl, PUBLIC_URL: setup.config.publicUrl });
    const key = "7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9";
    const body = JSON.stringify({ short_code: link.short_code, payment_method_id: "pm_card_visa" });

    // The link table is locked, so the request stops at its first read of it, after claiming its key.
    const locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    t.teardown(() => locker.end());
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE call_links IN ACCESS EXCLUSIVE MODE");
    const observer = new pg.Client({ connectionString: databaseUrl });
    await observer.connect();
    t.teardown(() => observer.end());

    const answered = new Promise<string>((resolve) => {
      const req = http.request(
        { host: "127.0.0.1", port: server.port, method: "POST", path: "/v1/calls/initiate", headers: { ...json, ...bearer(guestToken), "x-idempotency-key": key, "content-length": Buffer.byteLength(body) } },
        (res) => resolve(`answered ${res.statusCode}`),
      );
      req.on("error", (err) => resolve(`no answer (${(err as NodeJS.ErrnoException).code ?? err.message})`));
      req.end(body);
    });
    const inFlight = await eventually(async () => {
      const keys = await observer.query("SELECT 1 FROM idempotency_keys WHERE key = $1 AND status_code IS NULL", [key]);
      const blocked = await observer.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      return keys.rowCount === 1 && (blocked.rowCount ?? 0) > 0;
    }, 30_000);
    t.ok(inFlight, "the request has claimed its key and waits for the database");

    server.child.kill("SIGKILL");
    t.equal(await server.exited, "SIGKILL");
    t.match(await answered, /^no answer/, "the client got no answer");
    await locker.query("ROLLBACK");
    t.equal((await observer.query("SELECT 1 FROM calls")).rowCount, 0, "the killed request wrote no call");

    // Restart (in process, same database and signing key); its clock is past the dead claim's lease.
    const restarted = await testApp(t, { dataDir, databaseUrl, overrides: { tickIntervalMs: 0 } });
    restarted.clock.advance(CLAIM_LEASE_MS + 1000);
    const retry = await restarted.app.inject({
      method: "POST",
      url: "/v1/calls/initiate",
      headers: { ...json, ...bearer(restarted.app.tokens.guest({ id: guest.id }).token), "x-idempotency-key": key },
      payload: body,
    });
    t.equal(retry.statusCode, 201, retry.body);
    t.equal(await restarted.app.db.call.count(), 1, "one call");
    t.equal(await restarted.app.db.simPaymentIntent.count(), 1, "one hold");
    t.equal((await restarted.app.db.callLink.findUniqueOrThrow({ where: { shortCode: link.short_code } })).useCount, 1, "one use counted");
  },
);
