// An account's personal data (README.md, "Account deletion and data export"): everything stored
// about it, gathered for its export, and its erasure when it is deleted.
//
// A deleted account's `users` row stays as a tombstone (deleted_at set, every personal column
// emptied: a constraint of the table keeps it so): calls, captures, refunds, disputes and payouts
// name their host and payer by id and stay for the accounting, and call links keep their foreign
// key. What only serves the person (sessions, mail tokens, notifications, stored responses, saved
// cards, pictures) is deleted; names copied onto calls and onto the other participant's notices are
// removed. The tombstone names no caller (accounts.byId), so the account's tokens stop working at
// the next request, and frees its e-mail address and V-app name for a new account.
import type { Db } from "../db/client.ts";
import type {
  AuditLog,
  BillingWindow,
  Call,
  CallLink,
  ConnectAccount,
  Guest,
  MailToken,
  MediaUpload,
  Notification,
  PaymentCustomer,
  Payout,
  RefreshToken,
  User,
} from "../db/generated/client.ts";
import type { Audit, AuditActor, AuditData } from "./audit.ts";
import type { CallDetails, Calls } from "./calls.ts";
import { FINISHED } from "./call-state.ts";
import { AppError, unknownCaller, validationError } from "./errors.ts";
import { toUlid } from "./ids.ts";
import type { MediaService } from "./media.ts";
import { NOTIFICATION_TYPES, userChannel, type ChannelMessage } from "./notifications.ts";
import type { Passwords } from "./passwords.ts";
import type { HistoryEntry } from "./payments.ts";
import type { Clock } from "./ports/clock.ts";
import type { PaymentProvider } from "./ports/payments.ts";
import type { PubSub } from "./ports/pubsub.ts";

/**
 * How recent a sign-in must be to stand for the password when an account is deleted: the access
 * token's `auth_time`, the moment of the login or registration that began its session. Not its
 * `iat`: a refresh issues a new token without anyone signing in.
 */
export const REAUTH_WINDOW_MS = 5 * 60_000;

/** The sections of an account's export (openapi.yaml, AccountExport). */
export type ExportSection =
  | "profile"
  | "sessions"
  | "mail_tokens"
  | "images"
  | "links"
  | "calls"
  | "billing_windows"
  | "payments"
  | "payouts"
  | "notifications"
  | "guest_sessions"
  | "payment_customers"
  | "connect_account"
  | "audit_events";

/** Where a table's rows about an account are exported, or why they are not; and what deletion does to them. */
export type TableCoverage = { section: ExportSection; onDelete: string } | { section: null; notExported: string; onDelete: string };

/**
 * Every table that holds rows about an account — through a foreign key to `users` (directly, or via
 * calls, captures …) or a column naming a user — with the export section that lists its rows and
 * what deletion does to them. test/v1/export.test.ts compares this map with the database schema: a
 * table added without an entry here fails it.
 */
export const ACCOUNT_TABLES = {
  users: { section: "profile", onDelete: "kept as a tombstone: deleted_at set, e-mail, name, username, bio, password hash, picture and language emptied" },
  refresh_tokens: { section: "sessions", onDelete: "deleted (every session ends)" },
  mail_tokens: { section: "mail_tokens", onDelete: "deleted" },
  notifications: { section: "notifications", onDelete: "deleted; the account's name is removed from the other participants' notices" },
  media_uploads: { section: "images", onDelete: "deleted, and the images removed from storage" },
  call_links: { section: "links", onDelete: "deactivated, label removed (kept: the calls made on them refer to them)" },
  calls: { section: "calls", onDelete: "kept for the accounting (open calls are ended and settled first); the guest name removed" },
  billing_windows: { section: "billing_windows", onDelete: "kept for the accounting (amounts and provider references only)" },
  captures: { section: "payments", onDelete: "kept for the accounting (ids and amounts only)" },
  refunds: { section: "payments", onDelete: "kept for the accounting (ids and amounts only)" },
  disputes: { section: "payments", onDelete: "kept for the accounting (ids and amounts only)" },
  payouts: { section: "payouts", onDelete: "kept for the accounting (ids and amounts only)" },
  payment_customers: { section: "payment_customers", onDelete: "the customer deleted at the provider with its saved cards (before the transaction), then the record" },
  connect_accounts: {
    section: "connect_account",
    onDelete: "kept: the connected account may still hold a balance or owe reversals; the provider keeps its identity data under its own terms",
  },
  guests: { section: "guest_sessions", onDelete: "guest sessions that gave the account's verified e-mail for receipts: e-mail and name removed" },
  audit_log: { section: "audit_events", onDelete: "kept (append-only; ids and values only, never personal data)" },
  call_tasks: { section: null, notExported: "the billing engine's schedule of a call (due times, attempts): nothing about the person", onDelete: "kept with its call" },
  signaling_tokens: { section: null, notExported: "single-use connection credentials (hashes only), void once the call has ended", onDelete: "kept with its call (unusable)" },
  idempotency_keys: {
    section: null,
    notExported: "responses stored for 24 h to answer a retried request; they hold tokens, which an export never contains",
    onDelete: "the account's and its erased guest sessions' deleted (others' stored responses may name it until they expire)",
  },
} as const satisfies Record<string, TableCoverage>;

/**
 * Every other table of the schema, and why it holds nothing about an account. Together with
 * ACCOUNT_TABLES it classifies the whole schema: test/v1/export.test.ts fails on a table in neither.
 */
export const UNRELATED_TABLES = {
  instances: "the running instances' leases (instance ids and heartbeats)",
  sim_payment_intents: "the simulated provider's own card authorisations (by call id, a test card token, amounts): the provider's side, as Stripe's records are",
  sim_payment_requests: "the simulated provider's request log (idempotency keys and results): the provider's side, as Stripe's records are",
  webhook_events: "the provider's event ids and types, to process each once (the events themselves are not stored)",
  directory_version: "one counter: the version of the V-app user list",
  signing_key_state: "one row: the id (kid) of the key tokens were last signed with",
  vonage_tasks: "work owed to the Vonage Users API: a deleted account's is the deletion of its user there (its USR- id, no name)",
} as const satisfies Record<string, string>;

/**
 * Every column of `users` and what deletion does to it: `wiped` (the SQL value the tombstone gets,
 * set by erase's UPDATE, which is built from this map) or `kept` (why it may stay).
 * test/v1/export.test.ts fails on a column of the table missing here, so a personal column added
 * to users is wiped, or said to be kept, before it ships.
 */
export const USER_COLUMNS = {
  email: { wiped: "NULL" },
  email_key: { wiped: "NULL" },
  username: { wiped: "NULL" },
  display_name: { wiped: "''" },
  bio: { wiped: "NULL" },
  password_hash: { wiped: "''" },
  email_verified_at: { wiped: "NULL" },
  image_key: { wiped: "NULL" },
  // Its user at Vonage is deleted by a task the users trigger writes (vonage-accounts.ts).
  vonage_user_id: { wiped: "NULL" },
  language: { wiped: "'en'" },
  email_incoming_call: { wiped: "false" },
  email_receipts: { wiped: "false" },
  id: { kept: "the id calls, captures, refunds, disputes, payouts and links refer to" },
  role: { kept: "not personal; a tombstone names no caller, so it grants nothing" },
  created_at: { kept: "when the account was made: the accounting's context, not about the person" },
  updated_at: { kept: "set to the deletion's time" },
  deleted_at: { kept: "set to the deletion's time: marks the tombstone" },
} as const satisfies Record<string, { wiped: string } | { kept: string }>;

/** The tombstone's assignments, from USER_COLUMNS (every `wiped` column gets its value). */
const TOMBSTONE = Object.entries(USER_COLUMNS)
  .flatMap(([column, c]) => ("wiped" in c ? [`"${column}" = ${c.wiped}`] : []))
  .join(", ");

/** Everything stored about an account, as rows (rendered by the v1 surface: routes/v1/views.ts, accountExportView). */
export interface AccountData {
  user: User;
  sessions: RefreshToken[];
  mailTokens: MailToken[];
  uploads: MediaUpload[];
  links: CallLink[];
  callsAsHost: CallDetails[];
  callsAsGuest: CallDetails[];
  windows: BillingWindow[];
  /** Captures (as payer and as payee), refunds and disputes, newest first, as the payment history shows them. */
  payments: HistoryEntry[];
  payouts: Payout[];
  notifications: Notification[];
  /** Guest sessions that gave the account's e-mail for receipts (only once that address is verified). */
  guests: Guest[];
  customers: PaymentCustomer[];
  connectAccount: ConnectAccount | null;
  audit: AuditLog[];
}

/** Who deletes an account: the account itself, an admin or the operator (recorded in the audit log). */
export interface Deletion {
  actor: AuditActor;
  by: AuditData["user.deleted"]["by"];
  requestId?: string | undefined;
}

export interface PersonalDataDeps {
  db: Db;
  clock: Clock;
  passwords: Passwords;
  media: MediaService;
  provider: PaymentProvider;
  calls: Pick<Calls, "end">;
  audit: Pick<Audit, "record">;
  pubsub: PubSub;
  /** Told that the V-app user list changed (the deleted account leaves it). */
  directory?: { changed(): void };
  /** Vonage mode: the deletion wrote a task (its user at Vonage is deleted): run it now. */
  vonage?: { kick(): void } | undefined;
  log: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void };
}

const newest = { createdAt: "desc" } as const;
/** Guest sessions that gave an address (an account's e-mail key: trimmed, lower case) for their receipts. */
const GUESTS_BY_EMAIL = `SELECT "id" FROM "guests" WHERE lower(btrim("email")) = $1`;
/** A JSON array as one text parameter (lists reach every driver adapter the same way). */
const jsonList = (values: string[]) => JSON.stringify(values);

export function personalData({ db, clock, passwords, media, provider, calls, audit, pubsub, directory, vonage, log }: PersonalDataDeps) {
  const now = () => new Date(clock.now());

  /** The calls of the account still going (as host or as guest): each is ended as its participant would end it, and settled. */
  async function endOpenCalls(userId: string) {
    const open = await db.call.findMany({
      where: { status: { notIn: [...FINISHED] }, OR: [{ hostId: userId }, { guestKind: "user", guestId: userId }] },
      select: { id: true },
    });
    for (const { id } of open) await calls.end({ kind: "user", id: userId }, id);
  }

  /** Storage keys of the account's pictures: its profile picture and its uploads. */
  async function storedKeys(userId: string): Promise<string[]> {
    const [user, uploads] = await Promise.all([
      db.user.findUnique({ where: { id: userId }, select: { imageKey: true } }),
      db.mediaUpload.findMany({ where: { userId }, select: { key: true } }),
    ]);
    return [...(user?.imageKey ? [user.imageKey] : []), ...uploads.map((u) => u.key)];
  }

  /** The guest sessions of an account: those that gave its e-mail for receipts, once the address is the account's (verified). */
  const guestsOf = (user: User) =>
    user.emailVerifiedAt && user.emailKey
      ? db.$queryRawUnsafe<{ id: string }[]>(GUESTS_BY_EMAIL, user.emailKey)
      : Promise.resolve([]);

  async function withDetails(rows: (Call & { link: CallLink })[]): Promise<CallDetails[]> {
    const hostIds = [...new Set(rows.map((c) => c.hostId))];
    const hosts = await db.user.findMany({ where: { id: { in: hostIds } }, select: { id: true, displayName: true } });
    const names = new Map(hosts.map((h) => [h.id, h.displayName]));
    return rows.map((c) => ({ ...c, hostName: names.get(c.hostId) ?? "" }));
  }

  return {
    /**
     * Checks that the owner of `user` is asking (the account being deleted, or the admin deleting
     * another's): the password when given, otherwise a sign-in (login or registration) less than
     * REAUTH_WINDOW_MS ago (`signedInAt`, the token's auth_time). A token alone is not enough.
     */
    async confirmOwner(user: User, password: string | undefined, signedInAt: number | null): Promise<void> {
      if (password !== undefined) {
        if (!(await passwords.verify(user.passwordHash, password))) throw new AppError("invalid_credentials", { password: "is incorrect" });
        return;
      }
      if (signedInAt !== null && clock.now() - signedInAt < REAUTH_WINDOW_MS) return;
      throw validationError({ password: "is required: the session did not begin in the last 5 minutes (send the password, or sign in again)" });
    },

    /**
     * Everything stored about the caller's (live) account. One deleted since its token was checked
     * is an unknown caller (401), as it is at its next request.
     */
    async exportOf(userId: string): Promise<AccountData> {
      const user = await db.user.findUnique({ where: { id: userId } });
      if (!user || user.deletedAt) throw unknownCaller();
      const asGuest = { guestKind: "user", guestId: userId };
      const [sessions, mailTokens, uploads, links, hosted, guested, payouts, notifications, customers, connectAccount, audited, guestIds] = await Promise.all([
        db.refreshToken.findMany({ where: { userId }, orderBy: newest }),
        db.mailToken.findMany({ where: { userId }, orderBy: newest }),
        db.mediaUpload.findMany({ where: { userId }, orderBy: newest }),
        db.callLink.findMany({ where: { hostId: userId }, orderBy: newest }),
        db.call.findMany({ where: { hostId: userId }, include: { link: true }, orderBy: newest }),
        db.call.findMany({ where: asGuest, include: { link: true }, orderBy: newest }),
        db.payout.findMany({ where: { userId }, orderBy: newest }),
        // A newer version's types wait for the version that knows their shape (notifications.ts).
        db.notification.findMany({ where: { userId, type: { in: [...NOTIFICATION_TYPES] } }, orderBy: newest }),
        db.paymentCustomer.findMany({ where: { ownerKind: "user", ownerId: userId }, orderBy: newest }),
        db.connectAccount.findUnique({ where: { userId } }),
        db.auditLog.findMany({ where: { OR: [{ actorId: userId }, { targetType: "user", targetId: userId }] }, orderBy: newest }),
        guestsOf(user),
      ]);
      const callIds = [...hosted, ...guested].map((c) => c.id);
      const asPayer = { guestId: userId, call: { guestKind: "user" } };
      const [windows, captures, refunds, disputes, guests] = await Promise.all([
        db.billingWindow.findMany({ where: { callId: { in: callIds } }, orderBy: [{ callId: "desc" }, { index: "asc" }] }),
        db.capture.findMany({ where: { OR: [{ hostId: userId }, asPayer] } }),
        db.refund.findMany({ where: { OR: [{ hostId: userId }, { guestId: userId, capture: asPayer }] }, include: { capture: true } }),
        db.dispute.findMany({ where: { OR: [{ hostId: userId }, { capture: asPayer }] }, include: { capture: true } }),
        db.guest.findMany({ where: { id: { in: guestIds.map((g) => g.id) } }, orderBy: newest }),
      ]);
      const key = (r: { id: string; createdAt: Date }) => ({ id: r.id, createdAt: r.createdAt });
      const payments: HistoryEntry[] = [
        // A host never calls their own link: a capture is theirs as host (earning) or as payer (charge).
        ...captures.map((c) => ({ ...key(c), type: c.hostId === userId ? ("earning" as const) : ("charge" as const), capture: c })),
        ...refunds.map((r) => ({ ...key(r), type: "refund" as const, refund: r, toHost: r.hostId === userId })),
        ...disputes.map((d) => ({ ...key(d), type: "dispute" as const, dispute: d })),
      ].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
      return {
        user,
        sessions,
        mailTokens,
        uploads,
        links,
        callsAsHost: hosted.map((c) => ({ ...c, hostName: user.displayName })),
        callsAsGuest: await withDetails(guested),
        windows,
        payments,
        payouts,
        notifications,
        guests,
        customers,
        connectAccount,
        audit: audited,
      };
    },

    /**
     * Deletes an account (README.md, "Account deletion and data export"). In order:
     *   1. its open calls end through the participants' own end (reason host_ended, guest_ended …)
     *      and are settled, while the account is whole;
     *   2. its pictures are removed from storage, and its customer (with the saved cards) deleted
     *      at the payment provider: a store or a provider that cannot be reached fails the request
     *      (503) before anything else changed, so it can be retried (what is already gone is not
     *      an error then);
     *   3. one transaction: the row is locked, every session, mail token, notification, stored
     *      response (the account's and its erased guest sessions'), upload record and provider
     *      customer record deleted, the links deactivated, the names on calls and on the other
     *      participants' notices removed, the row tombstoned, and `user.deleted` recorded in the
     *      audit log;
     *   4. then, best effort (logged): pictures and customers made meanwhile, the account's live
     *      event streams, and any call that began while this ran.
     * not_found when there is no such live account (deleted meanwhile, too).
     */
    async erase(userId: string, deletion: Deletion): Promise<void> {
      const before = await db.user.findUnique({ where: { id: userId }, select: { deletedAt: true } });
      if (!before || before.deletedAt) throw new AppError("not_found");
      await endOpenCalls(userId);
      const removed = new Set(await storedKeys(userId));
      await Promise.all([...removed].map((k) => media.remove(k)));
      // Before the transaction, as the pictures: deleted after it, a provider failure (or a crash)
      // would leave the customer and its cards at the provider with nothing here naming them.
      const customersBefore = await db.paymentCustomer.findMany({ where: { ownerKind: "user", ownerId: userId }, select: { customerRef: true } });
      const deletedCustomers = new Set(customersBefore.map((c) => c.customerRef));
      for (const ref of deletedCustomers) await provider.deleteCustomer?.(ref);

      const t = now();
      const erased = await db.$transaction(async (tx) => {
        // Locked until commit: an upload, a picture, a notice or a profile change waiting for it then finds the account deleted.
        const [row] = await tx.$queryRawUnsafe<Pick<User, "emailKey" | "emailVerifiedAt" | "imageKey">[]>(
          `SELECT "email_key" AS "emailKey", "email_verified_at" AS "emailVerifiedAt", "image_key" AS "imageKey" FROM "users" WHERE "id" = $1::uuid AND "deleted_at" IS NULL FOR UPDATE`,
          userId,
        );
        if (!row) throw new AppError("not_found");
        const guestIds = row.emailVerifiedAt && row.emailKey
          ? (await tx.$queryRawUnsafe<{ id: string }[]>(GUESTS_BY_EMAIL, row.emailKey)).map((g) => g.id)
          : [];
        // The calls on which the account (or one of its guest sessions) was the guest, and those it hosted for other accounts.
        const asGuest = `("guest_kind" = 'user' AND "guest_id" = $1::uuid) OR ("guest_kind" = 'guest' AND "guest_id" IN (SELECT jsonb_array_elements_text($2::jsonb)::uuid))`;
        const guestCalls = await tx.$queryRawUnsafe<{ id: string; host_id: string }[]>(`SELECT "id", "host_id"::text FROM "calls" WHERE ${asGuest}`, userId, jsonList(guestIds));
        const hostCalls = await tx.$queryRawUnsafe<{ id: string; guest_id: string }[]>(
          `SELECT "id", "guest_id"::text FROM "calls" WHERE "host_id" = $1::uuid AND "guest_kind" = 'user'`,
          userId,
        );
        // The other participant's notices about those calls keep their content, without the name.
        const forget = (field: string, people: string[], callIds: string[]) =>
          tx.$executeRawUnsafe(
            `UPDATE "notifications" SET "data" = jsonb_set("data", '{${field}}', '""')
             WHERE "user_id" IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid) AND "data" ? '${field}'
               AND "data"->>'call_id' IN (SELECT jsonb_array_elements_text($2::jsonb))`,
            jsonList([...new Set(people)]),
            jsonList(callIds.map(toUlid)),
          );
        if (guestCalls.length) await forget("guest_display_name", guestCalls.map((c) => c.host_id), guestCalls.map((c) => c.id));
        if (hostCalls.length) await forget("host_display_name", hostCalls.map((c) => c.guest_id), hostCalls.map((c) => c.id));
        await tx.$executeRawUnsafe(`UPDATE "calls" SET "guest_name" = '' WHERE ${asGuest}`, userId, jsonList(guestIds));
        if (guestIds.length) {
          await tx.$executeRawUnsafe(`UPDATE "guests" SET "email" = NULL, "display_name" = NULL WHERE "id" IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid)`, jsonList(guestIds));
        }
        for (const table of ["refresh_tokens", "mail_tokens", "notifications"]) {
          await tx.$executeRawUnsafe(`DELETE FROM "${table}" WHERE "user_id" = $1::uuid`, userId);
        }
        // Stored responses name the caller (a call's guest name, a profile): the account's, and
        // those of the guest sessions erased above. Other people's may name it for their 24 h.
        await tx.$executeRawUnsafe(
          `DELETE FROM "idempotency_keys" WHERE "scope" IN (SELECT jsonb_array_elements_text($1::jsonb))`,
          jsonList([`user:${userId}`, ...guestIds.map((g) => `guest:${g}`)]),
        );
        const uploads = await tx.$queryRawUnsafe<{ key: string }[]>(`DELETE FROM "media_uploads" WHERE "user_id" = $1::uuid RETURNING "key"`, userId);
        const customers = await tx.$queryRawUnsafe<{ ref: string }[]>(
          `DELETE FROM "payment_customers" WHERE "owner_kind" = 'user' AND "owner_id" = $1::uuid RETURNING "customer_ref" AS "ref"`,
          userId,
        );
        await tx.$executeRawUnsafe(`UPDATE "call_links" SET "is_active" = false, "label" = NULL, "updated_at" = $2 WHERE "host_id" = $1::uuid`, userId, t);
        await tx.$executeRawUnsafe(`UPDATE "users" SET "deleted_at" = $2, "updated_at" = $2, ${TOMBSTONE} WHERE "id" = $1::uuid`, userId, t);
        await audit.record(
          { action: "user.deleted", actor: deletion.actor, target: { type: "user", id: userId }, requestId: deletion.requestId, data: { by: deletion.by } },
          tx,
        );
        return { keys: [...(row.imageKey ? [row.imageKey] : []), ...uploads.map((u) => u.key)], customers: customers.map((c) => c.ref) };
        // An account with years of calls takes longer than Prisma's default 5 s.
      }, { maxWait: 10_000, timeout: 60_000 });

      directory?.changed();
      vonage?.kick();
      const later = (what: string, work: Promise<unknown>) => work.catch((err) => log.error({ err, userId }, `account deleted; ${what} failed`));
      await Promise.all([
        // Stored between the removal above and the transaction.
        ...erased.keys.filter((k) => !removed.has(k)).map((k) => later(`removing picture ${k}`, media.remove(k))),
        // Made between the deletion above and the transaction (a card being saved then).
        ...erased.customers
          .filter((ref) => !deletedCustomers.has(ref))
          .map((ref) => later(`deleting customer ${ref} at the provider`, provider.deleteCustomer?.(ref) ?? Promise.resolve())),
        later("closing its event streams", pubsub.publish(userChannel(userId), JSON.stringify({ t: "closed" } satisfies ChannelMessage))),
        // A call initiated while this ran (its caller passed the token check before the row was locked).
        later("ending its calls", endOpenCalls(userId)),
      ]);
    },
  };
}

export type PersonalData = ReturnType<typeof personalData>;
