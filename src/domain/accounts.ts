// Accounts: one account store for both surfaces. A V-app user is an account with a username; a v1
// user is an account with an e-mail; an account may have both.
import { columns, type Db, type Sql } from "../db/client.ts";
import type { User } from "../db/generated/client.ts";
import { AppError, unknownCaller } from "./errors.ts";
import { fromVappUserId, uuidv7 } from "./ids.ts";
import type { Language } from "./language.ts";
import type { Clock } from "./ports/clock.ts";
import type { Passwords } from "./passwords.ts";
import type { MediaService } from "./media.ts";
import type { Directory } from "./directory.ts";
import type { UserRole } from "./principal.ts";
import type { Audit, AuditActor } from "./audit.ts";
import type { VonageAccounts } from "./vonage-accounts.ts";
import { afterCursor, newestFirst, toPage, type Page } from "./pagination.ts";

export type { User };

/** The key that makes e-mails unique case-insensitively (the address itself is kept as given). */
export const emailKeyOf = (email: string) => email.trim().toLowerCase();

/**
 * Why `user` may not be given `role`, or null: host and admin need a verified e-mail address
 * (docs/tokens.md, "Roles").
 */
export function roleProblem(user: Pick<User, "emailVerifiedAt">, role: UserRole): string | null {
  return (role === "host" || role === "admin") && !user.emailVerifiedAt ? `${role} needs a verified e-mail address` : null;
}

export interface AccountsDeps {
  db: Db;
  /** Raw SQL on the same database, for the read every authenticated request makes. */
  sql: Sql;
  clock: Clock;
  passwords: Passwords;
  media: MediaService;
  /** Told of every change this module makes to the V-app user list (it also sees others' by itself). */
  directory?: Pick<Directory, "changed">;
  /** Where role changes are recorded, in the change's transaction. */
  audit: Pick<Audit, "record">;
  /** Vonage mode: V-app accounts are users of the Vonage application too (vonage-accounts.ts). */
  vonage?: Pick<VonageAccounts, "provision" | "rename" | "kick"> | undefined;
}

/**
 * A unique-constraint violation, whichever way the driver adapter reports it: Prisma's P2002, the
 * adapter's mapped kind, or PostgreSQL's SQLSTATE 23505 passed through.
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; meta?: { driverAdapterError?: { cause?: { kind?: string } } } };
  return (
    e?.code === "P2002" ||
    e?.code === "23505" ||
    e?.cause?.code === "23505" ||
    e?.meta?.driverAdapterError?.cause?.kind === "UniqueConstraintViolation"
  );
}

/** A users row as Prisma's `User`: every column of the model, under its field name. */
const USER = columns({
  id: "id",
  email: "email",
  emailKey: "email_key",
  username: "username",
  displayName: "display_name",
  bio: "bio",
  passwordHash: "password_hash",
  role: "role",
  emailVerifiedAt: "email_verified_at",
  imageKey: "image_key",
  language: "language",
  emailIncomingCall: "email_incoming_call",
  emailReceipts: "email_receipts",
  createdAt: "created_at",
  updatedAt: "updated_at",
  deletedAt: "deleted_at",
  vonageUserId: "vonage_user_id",
});
/** A deleted account is a tombstone (personal-data.ts): it names no caller, so its tokens are refused. */
const USER_BY_ID = `SELECT ${USER} FROM users WHERE id = $1 AND deleted_at IS NULL`;
/** By V-app id: the Vonage user's id, or `USR-` + the id of an account that has none (ids.ts, vappIdOf). */
const USER_BY_VAPP_ID = `SELECT ${USER} FROM users WHERE deleted_at IS NULL AND (vonage_user_id = $1 OR (vonage_user_id IS NULL AND id = $2::uuid))`;
/** The profile fields a user edits, in the order an UPDATE sets them. */
const PROFILE_COLUMNS = {
  displayName: "display_name",
  username: "username",
  bio: "bio",
  language: "language",
  emailIncomingCall: "email_incoming_call",
  emailReceipts: "email_receipts",
} as const;
/** A change to the profile: the fields given change, the others stay. */
export type ProfilePatch = {
  displayName?: string;
  username?: string;
  bio?: string | null;
  language?: Language;
  emailIncomingCall?: boolean;
  emailReceipts?: boolean;
};

export function accounts({ db, sql, clock, passwords, media, directory, audit, vonage }: AccountsDeps) {
  /** The V-app list changed; in Vonage mode a change may also have written a task (the users trigger). */
  const listChanged = () => {
    directory?.changed();
    vonage?.kick();
  };
  const usernameTaken = () => new AppError("conflict", { username: "must be unique" });

  /** One UPDATE … RETURNING in raw SQL (through Prisma it cost ~4× the statement). */
  async function updateProfile(id: string, patch: ProfilePatch): Promise<User> {
    const set = Object.entries(PROFILE_COLUMNS).filter(([field]) => patch[field as keyof typeof patch] !== undefined);
    const values = [id, new Date(clock.now()), ...set.map(([field]) => patch[field as keyof typeof patch])];
    const assignments = ["updated_at = $2", ...set.map(([, column], i) => `${column} = $${i + 3}`)].join(", ");
    let user: User | undefined;
    try {
      [user] = await sql.query<User>(`UPDATE users SET ${assignments} WHERE id = $1 AND deleted_at IS NULL RETURNING ${USER}`, values);
    } catch (err) {
      if (isUniqueViolation(err)) throw usernameTaken();
      throw err;
    }
    // No row updated: the account was deleted since the caller's token was checked.
    if (!user) throw unknownCaller();
    if (patch.displayName !== undefined || patch.username !== undefined) listChanged();
    return user;
  }

  return {
    /** A V-app account; in Vonage mode, with its user at Vonage (vonage-accounts.ts, provision). */
    async createWithUsername(input: { username: string; password: string; displayName: string }): Promise<User> {
      const passwordHash = await passwords.hash(input.password);
      const now = new Date(clock.now());
      const data = { id: uuidv7(clock), username: input.username, displayName: input.displayName, passwordHash, createdAt: now, updatedAt: now };
      try {
        let user: User;
        if (vonage) {
          // A name taken here is refused before anything is made at Vonage.
          if (await db.user.findUnique({ where: { username: input.username }, select: { id: true } })) throw usernameTaken();
          user = await vonage.provision({ name: input.username, displayName: input.displayName }, (vonageUserId, tx) => tx.user.create({ data: { ...data, vonageUserId } }));
        } else {
          user = await db.user.create({ data });
        }
        directory?.changed();
        return user;
      } catch (err) {
        if (isUniqueViolation(err)) throw usernameTaken();
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
        // Not on an account deleted since it was read (a tombstone keeps no hash): no account then.
        const [rehashed] = await db.user.updateManyAndReturn({ where: { id: user.id, deletedAt: null }, data: { passwordHash, updatedAt: new Date(clock.now()) } });
        return rehashed ?? null;
      }
      return user;
    },

    /**
     * The account by id, null once deleted (the caller rule reads it on every authenticated
     * request, hence raw SQL).
     */
    byId: async (id: string): Promise<User | null> => (await sql.query<User>(USER_BY_ID, [id]))[0] ?? null,

    /** The live account a V-app token's `user_id` names, or null. */
    byVappId: async (vappId: string): Promise<User | null> => (await sql.query<User>(USER_BY_VAPP_ID, [vappId, fromVappUserId(vappId)]))[0] ?? null,

    /** A v1 account: e-mail (trimmed, unique case-insensitively), password, role `user`. */
    async createWithEmail(input: { email: string; password: string; displayName: string; language: string }): Promise<User> {
      const passwordHash = await passwords.hash(input.password);
      const now = new Date(clock.now());
      const email = input.email.trim();
      try {
        return await db.user.create({
          data: { id: uuidv7(clock), email, emailKey: emailKeyOf(email), displayName: input.displayName, language: input.language, passwordHash, createdAt: now, updatedAt: now },
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError("conflict", { email: "is already registered" });
        throw err;
      }
    },

    byEmail: (email: string) => db.user.findUnique({ where: { emailKey: emailKeyOf(email) } }),

    /**
     * Changes the fields given; a taken username is a conflict. In Vonage mode a new username is
     * the user's name at Vonage first (vonage-accounts.ts: rename, or provision for an account's
     * first username), so that the V-app token's `sub` never names another's user there.
     */
    async updateProfile(id: string, patch: ProfilePatch): Promise<User> {
      const { username } = patch;
      if (!vonage || username === undefined) return updateProfile(id, patch);
      const [current] = await sql.query<User>(USER_BY_ID, [id]);
      if (!current) throw unknownCaller();
      if (current.username === username) return updateProfile(id, patch);
      if (current.vonageUserId) return vonage.rename({ id, vonageUserId: current.vonageUserId }, username, () => updateProfile(id, patch));
      const rest: ProfilePatch = { ...patch };
      delete rest.username;
      try {
        await vonage.provision({ name: username, displayName: patch.displayName ?? current.displayName }, async (vonageUserId, tx) => {
          const { count } = await tx.user.updateMany({
            where: { id, deletedAt: null, vonageUserId: null, username: current.username },
            data: { username, vonageUserId, updatedAt: new Date(clock.now()) },
          });
          if (count !== 1) throw new AppError("conflict", { username: "was changed meanwhile; try again" });
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw usernameTaken();
        throw err;
      }
      listChanged();
      return updateProfile(id, rest);
    },

    async setPassword(id: string, password: string): Promise<void> {
      const passwordHash = await passwords.hash(password);
      await db.user.updateMany({ where: { id, deletedAt: null }, data: { passwordHash, updatedAt: new Date(clock.now()) } });
    },

    /** Marks the e-mail verified; role `user` becomes `verified_user`, higher roles stay. */
    async markEmailVerified(id: string): Promise<User> {
      const now = new Date(clock.now());
      await db.user.updateMany({ where: { id, emailVerifiedAt: null, deletedAt: null }, data: { emailVerifiedAt: now, updatedAt: now } });
      await db.user.updateMany({ where: { id, role: "user", deletedAt: null }, data: { role: "verified_user", updatedAt: now } });
      const user = await db.user.findUnique({ where: { id } });
      if (!user || user.deletedAt) throw new AppError("not_found");
      return user;
    },

    /**
     * Gives an account a role. A change is recorded in the audit log (`by`: who, in which request)
     * in the same transaction: both are stored, or neither. The row is locked meanwhile, so that
     * the recorded `from` is the role the change replaced.
     */
    async setRole(id: string, role: UserRole, by: { actor: AuditActor; requestId?: string | undefined }): Promise<User> {
      return db.$transaction(async (tx) => {
        const [locked] = await tx.$queryRawUnsafe<{ id: string }[]>(`SELECT "id" FROM "users" WHERE "id" = $1::uuid AND "deleted_at" IS NULL FOR UPDATE`, id);
        const user = locked ? await tx.user.findUnique({ where: { id } }) : null;
        if (!user) throw new AppError("not_found");
        const problem = roleProblem(user, role);
        if (problem) throw new AppError("conflict", { role: problem });
        const updated = await tx.user.update({ where: { id }, data: { role, updatedAt: new Date(clock.now()) } });
        if (user.role !== role) {
          await audit.record(
            { action: "user.role_changed", actor: by.actor, target: { type: "user", id }, requestId: by.requestId, data: { from: user.role, to: role } },
            tx,
          );
        }
        return updated;
      });
    },

    /** Every account (deleted ones are not), newest first, one page at a time. */
    async page(req: { limit: number; cursor?: string | undefined }): Promise<Page<User>> {
      const rows = await db.user.findMany({ where: { deletedAt: null, ...afterCursor("users", req.cursor) }, orderBy: newestFirst, take: req.limit + 1 });
      return toPage("users", rows, req.limit);
    },

    /**
     * Stores a checked image as the account's picture and removes the one it replaces. An account
     * deleted while its upload was arriving is the caller's token naming a user that no longer
     * exists (unknownCaller), and nothing is left in storage.
     */
    async setProfileImage(id: string, image: Buffer, field: string, kind: "original" | "avatar" = "original"): Promise<User> {
      const before = await db.user.findUnique({ where: { id, deletedAt: null }, select: { imageKey: true } });
      if (!before) throw unknownCaller();
      const imageKey = kind === "avatar" ? await media.storeAvatar(image, field) : await media.storeImage(image, field);
      let user: User | null;
      try {
        // Conditional on the account still being there; no row is a deletion since the check above
        // (an update waiting for a deletion's lock sees the deleted row, and matches nothing).
        const updated = await db.user.updateMany({ where: { id, deletedAt: null }, data: { imageKey, updatedAt: new Date(clock.now()) } });
        user = updated.count === 1 ? await db.user.findUnique({ where: { id } }) : null;
      } catch (err) {
        await media.remove(imageKey);
        throw err;
      }
      if (!user) {
        await media.remove(imageKey);
        throw unknownCaller();
      }
      listChanged();
      if (before.imageKey) await media.remove(before.imageKey).catch(() => {});
      return user;
    },

    /**
     * Stores a checked image uploaded by the account (not its picture: the V-app's `POST /image`)
     * and records it as the account's, so that its export lists it and its deletion removes it.
     * The record waits for a deletion under way (the row lock it shares) and is then not made: an
     * account deleted while its upload was arriving is an unknown caller, and nothing is left in storage.
     */
    async storeUpload(id: string, image: Buffer, field: string): Promise<string> {
      const key = await media.storeImage(image, field);
      let recorded: unknown[];
      try {
        recorded = await sql.query(
          `INSERT INTO media_uploads (key, user_id, created_at) SELECT $2, id, $3 FROM users WHERE id = $1 AND deleted_at IS NULL FOR SHARE RETURNING key`,
          [id, key, new Date(clock.now())],
        );
      } catch (err) {
        await media.remove(key);
        throw err;
      }
      if (recorded.length === 0) {
        await media.remove(key);
        throw unknownCaller();
      }
      return key;
    },
  };
}

export type Accounts = ReturnType<typeof accounts>;
