// The anchors `npm run bench` measures the service against: the same HTTP stack with nothing of
// ours in it. A bare Fastify 5 server answering
//   GET  /hello             {"status":"ok"} (what /health answers)
//   GET  /users/:id         one raw `pg` SELECT of the user row by primary key
//   PATCH /users/:id        one raw UPDATE … RETURNING of that row
//   POST /links             one raw INSERT … RETURNING of a call link
//   POST /argon2            one argon2 verify of the benchmark user's hash (the cost of a login)
//   WebSocket /?pair=<id>   a bare `ws` relay between the two sockets of a pair
// on the database the service uses (PostgreSQL through a `pg` pool of 10, or an embedded PGlite of
// its own, migrated with the service's migrations). Started by scripts/bench/http.ts; prints
// {"port": N} on its first line once listening.
import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import argon2 from "argon2";
import { openSqlSession } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { rawRelay } from "./relay.ts";

const { BENCH_DATABASE_URL, BENCH_DATA_DIR, BENCH_HASH, BENCH_USER_ID } = process.env;

type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;
let query: Query;
if (BENCH_DATABASE_URL) {
  const pg = (await import("pg")).default;
  const pool = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 10 });
  query = async (sql, params) => (await pool.query(sql, params)).rows;
} else {
  const session = await openSqlSession({ databaseUrl: undefined, dataDir: BENCH_DATA_DIR! });
  await migrate(session);
  query = (sql, params) => session.query(sql, params);
  // Its own copy of the benchmark user, so that the same row is read and written.
  await query(
    `INSERT INTO users (id, email, email_key, display_name, password_hash, role, created_at, updated_at)
     VALUES ($1, 'anchor@bench.local', 'anchor@bench.local', 'Anchor', $2, 'host', now(), now()) ON CONFLICT DO NOTHING`,
    [BENCH_USER_ID, BENCH_HASH],
  );
}

const app = Fastify({ logger: false });
app.get("/hello", async () => ({ status: "ok" }));
app.get<{ Params: { id: string } }>("/users/:id", async (req) => {
  const [row] = await query(`SELECT * FROM users WHERE id = $1`, [req.params.id]);
  return { user: row };
});
app.patch<{ Params: { id: string }; Body: { display_name: string } }>("/users/:id", async (req) => {
  const [row] = await query(`UPDATE users SET display_name = $1, updated_at = now() WHERE id = $2 RETURNING *`, [
    req.body.display_name,
    req.params.id,
  ]);
  return { user: row };
});
app.post<{ Body: { host_id: string; rate_cents: number; window_minutes: number } }>("/links", async (req, reply) => {
  const [row] = await query(
    `INSERT INTO call_links (id, host_id, short_code, rate_cents, window_minutes, is_active, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, true, now(), now()) RETURNING *`,
    [randomUUID(), req.body.host_id, randomUUID().slice(0, 10), req.body.rate_cents, req.body.window_minutes],
  );
  return reply.code(201).send({ link: row });
});
app.post<{ Body: { password: string } }>("/argon2", async (req) => ({ ok: await argon2.verify(BENCH_HASH!, req.body.password) }));

rawRelay(app.server); // WebSocket upgrades on any path: a bare `ws` relay (scripts/bench/relay.ts)
await app.listen({ port: 0, host: "127.0.0.1" });
process.on("SIGTERM", () => process.exit(0)); // --cpu-prof writes its profile on exit
console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port, query: "ready" }));
