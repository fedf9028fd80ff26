// Accounts: one account store for both surfaces. A V-app user is an account with a username; a v1
// user is an account with an e-mail; an account may have both.
import type { Db } from "../db/client.ts";
import type { User } from "../db/generated/client.ts";
import { AppError } from "./errors.ts";
import { uuidv7 } from "./ids.ts";
import type { Clock } from "./clock.ts";
import type { Passwords } from "./passwords.ts";
import type { MediaService } from "./media.ts";

export type { User };

export interface AccountsDeps {
  db: Db;
  clock: Clock;
  passwords: Passwords;
  media: MediaService;
}

/**
 * A unique-constraint violation, whichever way the driver adapter reports it: Prisma's P2002, the
 * adapter's mapped kind, or PostgreSQL's SQLSTATE 23505 passed through.
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; meta?: { driverAdapterError?: { cause?: { kind?: string } } } };
  return (
    e?.code === "P2002" ||
    e?.cause?.code === "23505" ||
    e?.meta?.driverAdapterError?.cause?.kind === "UniqueConstraintViolation"
  );
}

export function accounts({ db, clock, passwords, media }: AccountsDeps) {
  return {
    async createWithUsername(input: { username: string; password: string; displayName: string }): Promise<User> {
      const passwordHash = await passwords.hash(input.password);
      const now = new Date(clock.now());
      try {
        return await db.user.create({
          data: {
            id: uuidv7(clock),
            username: input.username,
            displayName: input.displayName,
            passwordHash,
            createdAt: now,
            updatedAt: now,
          },
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError("conflict", { username: "must be unique" });
        throw err;
      }
    },

    /** The account when the password matches; null otherwise (same work either way). */
    async checkPassword(where: { username: string } | { emailKey: string }, password: string): Promise<User | null> {
      const user = await db.user.findUnique({ where: where as { username: string } });
      const ok = await passwords.verify(user?.passwordHash ?? null, password);
      if (!ok || !user) return null;
      if (passwords.needsRehash(user.passwordHash)) {
        const passwordHash = await passwords.hash(password);
        return db.user.update({ where: { id: user.id }, data: { passwordHash, updatedAt: new Date(clock.now()) } });
      }
      return user;
    },

    byId: (id: string) => db.user.findUnique({ where: { id } }),

    exists: async (id: string) => (await db.user.count({ where: { id } })) > 0,

    /** Every other account with a username, oldest first (the V-app's contact list). */
    othersWithUsername: (excludeId: string) =>
      db.user.findMany({
        where: { username: { not: null }, id: { not: excludeId } },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      }),

    /** Stores a checked image as the account's picture and removes the one it replaces. */
    async setProfileImage(id: string, image: Buffer, field: string): Promise<User> {
      const before = await db.user.findUnique({ where: { id }, select: { imageKey: true } });
      if (!before) throw new AppError("not_found");
      const imageKey = await media.storeImage(image, field);
      let user: User;
      try {
        user = await db.user.update({ where: { id }, data: { imageKey, updatedAt: new Date(clock.now()) } });
      } catch (err) {
        await media.remove(imageKey);
        throw err;
      }
      if (before.imageKey) await media.remove(before.imageKey).catch(() => {});
      return user;
    },
  };
}

export type Accounts = ReturnType<typeof accounts>;
