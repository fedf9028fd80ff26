// The server as an operator runs it: a child process (`node --import tsx src/server.ts`) on a free
// port, for tests that kill it, restart it or run several.
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CHEAP_ARGON2, NO_SHEDDING } from "./app.ts";

type Tap = { teardown(fn: () => unknown): void };

const root = fileURLToPath(new URL("../..", import.meta.url));

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** A private key file (PEM) that several instances share, in a directory removed at teardown. */
export function sharedKeyFile(t: Tap): string {
  const dir = mkdtempSync(path.join(tmpdir(), "vidivo-key-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const file = path.join(dir, "jwt.pem");
  writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }));
  return file;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  base: string;
  /** The exit code, or the signal that ended the process. */
  exited: Promise<number | NodeJS.Signals | null>;
  output(): string;
}

/**
 * Starts the server with `env` (plus a free PORT, a fresh DATA_DIR unless given, cheap argon2) and
 * resolves once /health answers. Killed with SIGKILL at teardown if still running.
 */
export async function startServer(t: Tap, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  let dataDir = env.DATA_DIR;
  if (!dataDir) {
    dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-proc-"));
    const dir = dataDir;
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  }
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...CHEAP_ARGON2, ...NO_SHEDDING, ...env, DATA_DIR: dataDir, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
  t.teardown(() => void child.kill("SIGKILL"));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) break;
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) return { child, port, base, exited, output: () => out };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not start:\n${out}`);
}
