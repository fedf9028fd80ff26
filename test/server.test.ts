// The process entry as an operator runs it: starts on the embedded defaults, serves, and stops
// cleanly on SIGTERM; bad configuration stops it with one line per problem.
import { spawn } from "node:child_process";
import http from "node:http";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import t, { type Test } from "tap";

const root = fileURLToPath(new URL("..", import.meta.url));

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => out };
}

/** The server on a fresh data directory and a free port, once /health answers (or after 60 s: a cold start on a loaded machine). */
async function serve(t: Test) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-server-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const server = start({ DATA_DIR: dataDir, PORT: String(port), ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" });
  t.teardown(() => server.child.kill("SIGKILL"));
  let health: number | undefined;
  for (let i = 0; i < 600 && health === undefined; i++) {
    health = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => undefined);
    if (health === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  return { server, port, dataDir, health };
}

t.test("starts with no configuration but a data directory, serves, and exits 0 on SIGTERM", async (t) => {
  const { server, port, dataDir, health } = await serve(t);
  t.equal(health, 200, "listening");
  const signup = await fetch(`http://127.0.0.1:${port}/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "paul", password: "password1", display_name: "Paul" }),
  });
  t.equal(signup.status, 201, "the embedded database works");
  t.same(readdirSync(dataDir).sort(), ["keys", "pg"], "database and dev key live under DATA_DIR");
  t.match(server.output(), /development signing key/, "the dev key is warned about");

  server.child.kill("SIGTERM");
  t.equal(await server.exited, 0, "graceful exit");
  t.notOk(server.output().includes("password1"), "no password in the logs");
});

t.test("SIGTERM while a request is in flight on a keep-alive connection: it completes, the connection closes, exit 0", async (t) => {
  const { server, port, health } = await serve(t);
  t.equal(health, 200, "listening");
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const body = JSON.stringify({ name: "kate", password: "password1", display_name: "Kate" });
  const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/signup", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } });
  const response = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
    });
    req.on("error", reject);
  });
  req.write(body.slice(0, 10)); // the request has begun; the rest of its body comes after the signal
  await new Promise((r) => setTimeout(r, 300));
  server.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  req.end(body.slice(10));
  const res = await response;
  t.equal(res.status, 201, "the request in flight is served");
  t.equal(JSON.parse(res.body).user.name, "kate");
  t.equal(res.connection, "close", "and its connection is not kept alive");
  t.equal(await server.exited, 0, "exit 0: the server closed before the 10-second deadline (which exits 1)");
});

t.test("SIGTERM with a connection that never sent a request (a browser's preconnect): it is closed, exit 0", async (t) => {
  const { server, port, health } = await serve(t);
  t.equal(health, 200, "listening");
  const idle = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => idle.once("connect", resolve).once("error", reject));
  const closed = new Promise<void>((resolve) => idle.once("close", () => resolve()));
  idle.on("error", () => undefined);
  server.child.kill("SIGTERM");
  await closed;
  t.pass("the server closed the unused connection");
  // Node counts such a connection as waiting for its headers (60 s), past the 10-second deadline.
  t.equal(await server.exited, 0, "exit 0: it did not hold the close until the deadline (which exits 1)");
});

t.test("invalid configuration: exit 1, one line per problem", async (t) => {
  const server = start({ PORT: "abc", LOG_LEVEL: "chatty", DATA_DIR: tmpdir() });
  t.equal(await server.exited, 1);
  t.same(server.output().trim().split("\n"), [
    'config: PORT="abc": must be a port number (0-65535)',
    'config: LOG_LEVEL="chatty": must be one of fatal, error, warn, info, debug, trace, silent',
  ]);
});

t.test("production without a signing key refuses to start", async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-server-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = start({ NODE_ENV: "production", DATA_DIR: dataDir, PORT: String(await freePort()) });
  t.equal(await server.exited, 1);
  t.match(server.output(), /JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE is required when NODE_ENV=production/);
});
