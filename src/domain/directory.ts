// The V-app's user directory: every account with a username, oldest first: the `users` of
// /signup and /login, and GET /users (docs/vapp.md, "User object and user list"). The V-app's
// clients expect the whole list, so each instance keeps one snapshot of it in memory and loads it
// again only when it changed.
//
// Freshness, across instances and whoever writes: triggers on `users` (migration
// 20261201000000_user_directory) bump the one-row `directory_version` in the same transaction as
// every write that can change the list, so the new version becomes visible exactly when the write
// does, and versions commit in order (each bump waits for the previous one's row lock). current()
// first reads that version: a write committed before the call began is at or below the version
// read, and the list is loaded after that read, so the snapshot returned is never older than such
// a write. Pub/sub notices (Redis when configured) only make other instances drop their copy early
// (memory); freshness never depends on them.
import type { Db, Sql } from "../db/client.ts";
import type { PubSub } from "./ports/pubsub.ts";

export interface DirectoryEntry {
  id: string;
  username: string;
  displayName: string;
  imageKey: string | null;
  /** Vonage mode: the V-app id (ids.ts, vappIdOf). */
  vonageUserId?: string | null;
}

export interface DirectorySnapshot {
  /** The `directory_version` the snapshot was loaded at (or after). */
  readonly version: string;
  readonly entries: readonly DirectoryEntry[];
}

export interface Directory {
  /** The directory, no older than any change committed before the call. One small read when unchanged. */
  current(): Promise<DirectorySnapshot>;
  /** A change to the list was just committed through this instance: every instance drops its copy now. */
  changed(): void;
  /** Hears other instances' notices on `pubsub` (and sends ours there) until close(). */
  listen(pubsub: PubSub): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL = "user-directory";

type Log = { warn(obj: unknown, msg: string): void };

export function userDirectory({ db, sql, log }: { db: Db; sql: Sql; log: Log }): Directory {
  let cached: DirectorySnapshot | undefined;
  /** The load in flight, joined by every call that read the same version meanwhile. */
  let loading: { version: string; snapshot: Promise<DirectorySnapshot> } | undefined;
  let notices: { pubsub: PubSub; stop: () => Promise<void> } | undefined;

  /**
   * The version now. Calls made while a read waits to be sent share it: it is sent after every one
   * of them began, which is all they need (at most one turn of the event loop later).
   */
  let nextRead: Promise<string> | undefined;
  const versionNow = () =>
    (nextRead ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      nextRead = undefined;
      return (await sql.query<{ version: string }>(`SELECT "version"::text AS "version" FROM "directory_version"`, []))[0]!.version;
    }));

  async function load(version: string): Promise<DirectorySnapshot> {
    const entries = (await db.user.findMany({
      where: { username: { not: null } },
      select: { id: true, username: true, displayName: true, imageKey: true, vonageUserId: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    })) as DirectoryEntry[];
    return Object.freeze({ version, entries: Object.freeze(entries) });
  }

  return {
    async current() {
      const version = await versionNow();
      if (cached?.version === version) return cached;
      if (loading?.version === version) return loading.snapshot;
      // Kept unless a newer load started meanwhile (that one is kept instead).
      const snapshot: Promise<DirectorySnapshot> = load(version).then(
        (s) => {
          if (loading?.snapshot === snapshot) [cached, loading] = [s, undefined];
          return s;
        },
        (err: unknown) => {
          if (loading?.snapshot === snapshot) loading = undefined;
          throw err;
        },
      );
      loading = { version, snapshot };
      return snapshot;
    },

    changed() {
      cached = undefined;
      notices?.pubsub.publish(CHANNEL, "changed").catch((err: Error) => log.warn({ err: { message: err.message } }, "user directory: change notice not sent"));
    },

    async listen(pubsub) {
      try {
        const stop = await pubsub.subscribe(CHANNEL, () => {
          cached = undefined;
        });
        notices = { pubsub, stop };
      } catch (err) {
        // Only memory is at stake: every read still checks the version.
        log.warn({ err: { message: (err as Error).message } }, "user directory: not listening to change notices");
        notices = { pubsub, stop: async () => {} };
      }
    },

    async close() {
      await notices?.stop();
      notices = undefined;
    },
  };
}
