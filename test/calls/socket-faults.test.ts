// No socket path may end the process. A participant's socket closes while the database refuses the
// presence update: the failure is logged with the connection's id, the process and the other calls
// stay up, and the instance's next heartbeat records the participant as gone (the record of a
// socket it no longer holds), so the peer hears `peer_left` and the grace runs.
import t from "tap";
import type { Database } from "../../src/db/client.ts";
import type { PrismaClient } from "../../src/db/generated/client.ts";
import { HEARTBEAT_MS } from "../../src/domain/instances.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { captureLogs, sharedDatabase, testApp } from "../helpers/app.ts";
import { activeCall, advance, createLink, makeUser } from "../helpers/calls.ts";

t.test("a socket closing in a database outage is logged, and healed at the next heartbeat", async (t) => {
  const { database, dataDir, databaseUrl } = await sharedDatabase(t, "vidivo-socket-faults-");
  // Presence writes fail while `down` is set, as they do when the database goes away.
  const outage = { down: false };
  const prisma = database.prisma.$extends({
    query: {
      call: {
        async updateManyAndReturn({ args, query }) {
          if (outage.down) throw new Error("Connection terminated unexpectedly (simulated database outage)");
          return query(args);
        },
      },
    },
  }) as unknown as PrismaClient;
  const { lines, logStream } = captureLogs();
  const { app, clock } = await testApp(t, {
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    env: { LOG_LEVEL: "warn" },
    overrides: { database: { ...database, prisma } satisfies Database, tickIntervalMs: 0, logStream },
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app, "host", "Hal");
  const link = await createLink(app, host);
  const one = await activeCall(app, host, link.short_code);
  const two = await activeCall(app, host, link.short_code);

  outage.down = true;
  await one.g.close();
  for (let i = 0; i < 200 && !lines.some((l) => l.includes("signaling: connection close failed")); i++) await new Promise((r) => setTimeout(r, 10));
  outage.down = false;
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "signaling: connection close failed");
  t.ok(logged, "the failure is logged");
  t.match(logged, { conn: /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, err: { message: /simulated database outage/ } }, "with the connection's id and the cause");

  // The other call is untouched.
  two.g.send({ type: "offer", sdp: "v=0 after the outage" });
  t.match(await two.h.next("offer"), { sdp: "v=0 after the outage", from: "guest" });

  // The guest's record still names the closed socket until this instance's next heartbeat.
  const id = (await app.db.call.findFirstOrThrow({ where: { guestId: one.guest.id } })).id;
  t.not((await app.db.call.findUniqueOrThrow({ where: { id } })).guestConn, null, "presence was not updated in the outage");
  await advance(app, clock, HEARTBEAT_MS);
  t.same(await one.h.next("peer_left"), { type: "peer_left", role: "guest" }, "the host hears the guest is gone");
  const call = await app.db.call.findUniqueOrThrow({ where: { id } });
  t.equal(call.guestConn, null);
  t.same(call.guestLeftAt, new Date(clock.now()), "gone since the heartbeat noticed");
  t.equal(call.status, "active", "within the reconnect grace");
  await Promise.all([one.h.close(), two.g.close(), two.h.close()]);
});

t.test("a participant gone exactly one grace before a window boundary is charged only the minutes used", async (t) => {
  const { app, clock } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app, "host", "Hal");
  // One-minute windows: leaving at the start makes the reconnect deadline and window 1's capture
  // fall due at the same instant.
  const link = await createLink(app, host, { rate_per_minute: "1.00", window_size_minutes: 1 });
  const { g, h, id } = await activeCall(app, host, link.short_code);
  await g.close();
  // The server notices the close on its own schedule: wait until presence says the guest is gone.
  await h.next("peer_left");
  await advance(app, clock, 60_000);
  const call = await app.db.call.findUniqueOrThrow({ where: { id: fromUlid(id)! } });
  t.equal(call.endReason, "connection_lost");
  t.same(call.endedAt, call.startedAt, "ended when the guest left, at the start");
  t.equal(call.amountCharged, 0, "no minute used, none charged");
  const intents = await app.db.simPaymentIntent.findMany({ where: { reference: call.id } });
  t.same(intents.filter((i) => i.capturedCents > 0 || i.status === "requires_capture"), [], "every hold released, nothing captured");
  await h.close();
});
