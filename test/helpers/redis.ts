// Redis for the tests that need a real one. TEST_REDIS_URL names a running server (CI starts one;
// see README, Development); only tests that read it use Redis, every other test stays in-process.
// Tests that stop and restart Redis start their own `redis-server` child on a free port instead.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { freePort } from "./process.ts";

type Tap = { teardown(fn: () => unknown): void };

/** The shared test Redis, or undefined (those tests are skipped with this reason). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || undefined;
export const NO_REDIS = "TEST_REDIS_URL is not set: start redis-server and set it (README, Development)";

/** Why an own redis-server cannot be started here, or false when it can. */
export const NO_REDIS_SERVER: string | false =
  spawnSync("redis-server", ["--version"], { stdio: "ignore" }).error ? "the redis-server binary is not found (apt-get install redis-server)" : false;

export interface OwnRedis {
  url: string;
  port: number;
  /** SIGKILL: connections drop at once, nothing is kept (no persistence). */
  kill(): Promise<void>;
  /** A new server on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open but nothing answers. */
  pause(): void;
  resume(): void;
}

/** A private redis-server on a free loopback port, without persistence; killed at teardown. */
export async function ownRedis(t: Tap): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = c;
      let out = "";
      c.stdout!.on("data", (d) => {
        out += String(d);
        if (out.includes("Ready to accept connections")) resolve();
      });
      c.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)));
      c.once("error", reject);
    });
  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGCONT");
    c.kill("SIGKILL");
    await exited;
  };
  await start();
  t.teardown(kill);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: async () => {
      await kill();
      await start();
    },
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
  };
}
