// Operator commands: `npm run admin -- promote <email> <role>`.
// Reads the same configuration as the server (DATA_DIR / DATABASE_URL …) and opens the database the
// same way (applying pending migrations). With the embedded database, stop the server first: PGlite
// is opened by one process at a time. A role change is recorded in the audit log (actor: system),
// in the same transaction.
import { pathToFileURL } from "node:url";
import { loadConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/client.ts";
import { emailKeyOf, roleProblem } from "../src/domain/accounts.ts";
import { audit } from "../src/domain/audit.ts";
import { systemClock } from "../src/domain/ports/clock.ts";
import { USER_ROLES, type UserRole } from "../src/domain/principal.ts";

const USAGE = `usage: npm run admin -- promote <email> <role>
  roles: ${USER_ROLES.join(", ")}`;

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** Runs one command; returns the process exit code (0 done, 1 failed, 2 usage). */
export async function runAdmin(argv: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  const [command, email, role, ...rest] = argv;
  if (command !== "promote" || !email || !role || rest.length > 0) {
    io.err(USAGE);
    return 2;
  }
  if (!(USER_ROLES as readonly string[]).includes(role)) {
    io.err(`unknown role "${role}"\n${USAGE}`);
    return 2;
  }
  const config = loadConfig(env);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const user = await db.prisma.user.findUnique({ where: { emailKey: emailKeyOf(email) } });
    if (!user) {
      io.err(`no account has the e-mail ${email.trim()}`);
      return 1;
    }
    if (user.role === role) {
      io.out(`${user.email} already has the role ${role}`);
      return 0;
    }
    const problem = roleProblem(user, role as UserRole);
    if (problem) {
      io.err(`${user.email}: ${problem} (the account's owner confirms it from the mail sent at registration)`);
      return 1;
    }
    const log = audit({ db: db.prisma, sql: db.sql, clock: systemClock });
    const changed = await db.prisma.$transaction(async (tx) => {
      // Only from the role read above, so that the recorded `from` is the one replaced.
      const { count } = await tx.user.updateMany({ where: { id: user.id, role: user.role }, data: { role: role as UserRole, updatedAt: new Date(systemClock.now()) } });
      if (count === 0) return false;
      await log.record({ action: "user.role_changed", actor: { kind: "system" }, target: { type: "user", id: user.id }, data: { from: user.role, to: role as UserRole } }, tx);
      return true;
    });
    if (!changed) {
      io.err(`${user.email}: the account changed meanwhile; try again`);
      return 1;
    }
    io.out(`${user.email}: ${user.role} → ${role} (effective from the account's next access token)`);
    return 0;
  } finally {
    await db.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runAdmin(process.argv.slice(2), process.env, {
    out: (l) => console.log(l),
    err: (l) => console.error(l),
  }).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  });
  process.exitCode = code;
}
