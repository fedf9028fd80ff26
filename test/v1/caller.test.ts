// The one caller rule: every authenticated operation resolves its caller against the account (or
// guest) as it is now. A token of a deleted account is refused with 401 on every operation that
// accepts access tokens, a host or admin demoted after the token was issued gets 403 at once on every
// operation of their role, and a refused request changes nothing. The operations come from the
// contract, so an operation added to openapi.yaml is covered without touching this file.
import { readdirSync } from "node:fs";
import path from "node:path";
import t from "tap";
import { everyRow, injectOnce, relaxedLimits, testApp } from "../helpers/app.ts";
import { bearer, createLink, makeGuest, makeUser, startCall, type Party } from "../helpers/calls.ts";
import { multipart, png } from "../helpers/images.ts";
import { loadContract, type Operation } from "../../src/contract/spec.ts";
import { toUlid, uuidv7 } from "../../src/domain/ids.ts";
import { errorBody, json } from "../helpers/v1.ts";

const UNAUTHORIZED = errorBody("unauthorized", "Authentication is required or the token is invalid.");
const FORBIDDEN = errorBody("forbidden", "You do not have permission to do this.");

// One app for the file (starting one is the slow part); every test makes its own accounts. The
// per-user budget differs from the per-IP one so that a response tells which one it was counted in.
const ANONYMOUS_LIMIT = relaxedLimits.anonymous!.max;
const { app, clock, dataDir } = await testApp(t, {
  overrides: { tickIntervalMs: 0, rateLimits: { ...relaxedLimits, authenticated: { max: 2 * ANONYMOUS_LIMIT, windowMs: 60_000 } } },
});

const contract = await loadContract();
// The deletions last: the controls' valid requests delete their caller (or the admin's target).
const DELETIONS = ["deleteUser", "deleteMyAccount"];
const operations = [...contract.operations.values()].sort((a, b) => DELETIONS.indexOf(a.operationId) - DELETIONS.indexOf(b.operationId));
const accepts = (op: Operation, scheme: string) => ((op.spec.security ?? []) as Record<string, unknown>[]).some((alt) => scheme in alt);
const withAccessToken = operations.filter((op) => accepts(op, "accessToken"));
const withGuestToken = operations.filter((op) => accepts(op, "guestToken"));
/** The role the operations of each tag require. */
const ROLE_OF_TAG: Record<string, "host" | "admin"> = { Links: "host", Admin: "admin" };
const roleOf = (op: Operation) => ((op.spec.tags ?? []) as string[]).map((tag) => ROLE_OF_TAG[tag]).find(Boolean);
const roleGated = withAccessToken.filter((op) => roleOf(op) !== undefined);

t.test("the contract is enumerated (a broken filter would make every check below vacuous)", async (t) => {
  const ids = (ops: Operation[]) => ops.map((op) => op.operationId);
  for (const id of ["getMyProfile", "resendVerificationEmail", "createLink", "listUsers", "initiateCall", "listCalls", "getPaymentHistory"]) {
    t.ok(ids(withAccessToken).includes(id), `${id} accepts access tokens`);
  }
  t.same(
    Object.fromEntries(roleGated.map((op) => [op.operationId, roleOf(op)])),
    {
      listUsers: "admin",
      setUserRole: "admin",
      deleteUser: "admin",
      listAuditLog: "admin",
      createLink: "host",
      listLinks: "host",
      getLink: "host",
      updateLink: "host",
      deleteLink: "host",
    },
  );
  t.ok(ids(withGuestToken).includes("listCalls"));
});

/** Whose rows a request names: the ids put into path parameters, and the link a call is started on. */
interface Target {
  token: string;
  linkId: string;
  callId: string;
  /** An account other than the caller (admin operations). */
  userId: string;
  /** Another host's public link (initiate). */
  shortCode: string;
}

/** A well-formed request for `op`: path parameters from `target`, a valid minimal body. */
async function validRequest(op: Operation, target: Target) {
  const url = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name !== "id") return toUlid(uuidv7(app.clock));
    if (op.path.startsWith("/v1/links/")) return target.linkId;
    if (op.path.startsWith("/v1/calls/")) return target.callId;
    if (op.path.startsWith("/v1/admin/users/")) return target.userId;
    return toUlid(uuidv7(app.clock));
  });
  const headers: Record<string, string> = bearer(target.token);
  if (op.operationId === "setMyAvatar") {
    const form = await multipart([{ name: "avatar", data: png(4, 4), filename: "a.png", type: "image/png" }]);
    return { method: op.method.toUpperCase(), url, headers: { ...headers, ...form.headers }, payload: form.payload };
  }
  const bodies: Record<string, unknown> = {
    updateMyProfile: { display_name: "Changed Name" },
    setUserRole: { role: "verified_user" },
    createLink: { rate_per_minute: "3.00", window_size_minutes: 10 },
    updateLink: { label: "changed" },
    initiateCall: { short_code: target.shortCode, payment_method_id: "pm_card_visa" },
  };
  const body = bodies[op.operationId] ?? (op.requestContentTypes.includes("application/json") ? {} : undefined);
  return {
    method: op.method.toUpperCase(),
    url,
    headers: body === undefined ? headers : { ...headers, ...json },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  };
}

/**
 * The same request made invalid in a way a later stage would refuse (a body that is not JSON, an id
 * that is not one, an unknown query parameter), to show that the caller is checked first; null for
 * an operation that takes no input at all.
 */
async function invalidRequest(op: Operation, target: Target) {
  const req = await validRequest(op, target);
  if (op.requestContentTypes.length > 0) return { ...req, headers: { ...req.headers, ...json }, payload: "{not json" };
  if (op.schema.params) return { ...req, url: op.path.replace(/\{\w+\}/g, "not-an-id!") };
  if (op.schema.querystring) return { ...req, url: `${req.url}?unexpected_parameter=1` };
  return null;
}

/** Every row of every table, and every stored file and mail, so that "nothing changed" is checked whole. */
async function snapshot() {
  // Liveness rows that a running instance rewrites on its own are not the request's doing.
  const rows = await everyRow(app, new Set(["_migrations", "instances"]));
  await app.mail.idle();
  const files = (dir: string): string[] => {
    try {
      return readdirSync(path.join(dataDir, dir), { recursive: true }).map(String).sort();
    } catch {
      return [];
    }
  };
  return { rows, media: files("media"), outbox: files("outbox") };
}

/** A host (or admin) with a link and a guest's call waiting on it. */
async function hostWithCall(role: "host" | "admin" = "host") {
  const host = await makeUser(app, role);
  const link = await createLink(app, host);
  const call = await startCall(app, await makeGuest(app), link.short_code);
  return { host, link, call };
}

t.test("a deleted account's access token is refused with 401 on every operation, and changes nothing", async (t) => {
  const other = await makeUser(app, "user");
  const callee = await makeUser(app, "host");
  const calleeLink = await createLink(app, callee);
  // An account that owns links cannot be deleted (call_links.host_id is RESTRICT), so the deleted
  // account is one whose token says `host` and that took a call as the guest of another host's link.
  const inCall = async () => {
    const user = await makeUser(app, "host");
    return { user, call: await startCall(app, user, calleeLink.short_code) };
  };
  const victim = await inCall();
  const twin = await inCall();
  const target = (p: { user: Party; call: { call: { id: string } } }): Target => ({
    token: p.user.token,
    linkId: calleeLink.id,
    callId: p.call.call.id,
    userId: other.ulid,
    shortCode: calleeLink.short_code,
  });

  // The control: the same requests by a live account pass the caller check, and the invalid ones
  // are refused for what is wrong with them.
  // (The invalid one first: the valid deletion deletes the twin.)
  for (const op of withAccessToken) {
    const invalid = await invalidRequest(op, target(twin));
    const bad = invalid && (await injectOnce(app, invalid as never));
    if (bad && bad.statusCode !== 400 && bad.statusCode !== 415) t.fail(`${op.operationId}: the invalid request got ${bad.statusCode} ${bad.body}`);
    const res = await injectOnce(app, (await validRequest(op, target(twin))) as never);
    if (res.statusCode === 401) t.fail(`${op.operationId}: a live account's request is refused: ${res.body}`);
  }

  const token = victim.user.token;
  await app.db.user.delete({ where: { id: victim.user.id } });
  const before = await snapshot();
  t.ok(before.rows.users!.length > 0 && before.rows.calls!.length > 0, "the snapshot sees the tables' rows");
  clock.advance(1000); // a write of unchanged values would still move an updated_at
  for (const op of withAccessToken) {
    for (const [kind, build] of [["valid", validRequest], ["invalid", invalidRequest]] as const) {
      const req = await build(op, { ...target(victim), token });
      if (!req) continue;
      const res = await injectOnce(app, req as never);
      t.same([res.statusCode, res.json()], [401, UNAUTHORIZED], `${op.operationId} (${kind} request)`);
      // A refused caller is not identified: the request spends the per-IP budget of unauthenticated ones.
      if (res.headers["x-ratelimit-limit"] !== String(ANONYMOUS_LIMIT)) t.fail(`${op.operationId}: counted in the budget of ${res.headers["x-ratelimit-limit"]}`);
    }
  }
  t.same(await snapshot(), before, "nothing was written, stored or mailed");
});

t.test("a host or admin demoted after the token was issued gets 403 at once, and changes nothing", async (t) => {
  const other = await makeUser(app, "user");
  const thirdLink = await createLink(app, await makeUser(app, "host"));
  const parties = { host: await hostWithCall("host"), admin: await hostWithCall("admin") };
  const twins = { host: await hostWithCall("host"), admin: await hostWithCall("admin") };
  const target = (p: { host: Party; link: { id: string }; call: { call: { id: string } } }, token = p.host.token): Target => ({
    token,
    linkId: p.link.id,
    callId: p.call.call.id,
    userId: other.ulid,
    shortCode: thirdLink.short_code,
  });

  // The control: with the role, each request succeeds.
  for (const op of roleGated) {
    const res = await injectOnce(app, (await validRequest(op, target(twins[roleOf(op)!]))) as never);
    if (res.statusCode >= 300) t.fail(`${op.operationId}: refused to a current ${roleOf(op)}: ${res.statusCode} ${res.body}`);
  }

  // Tokens issued while the role was held (their role claim still says so), then the demotion.
  const tokens = { host: parties.host.host.token, admin: parties.admin.host.token };
  await app.db.user.update({ where: { id: parties.host.host.id }, data: { role: "verified_user" } });
  await app.db.user.update({ where: { id: parties.admin.host.id }, data: { role: "host" } });
  const before = await snapshot();
  clock.advance(1000); // a write of unchanged values would still move an updated_at
  for (const op of roleGated) {
    const role = roleOf(op)!;
    const res = await injectOnce(app, (await validRequest(op, target(parties[role], tokens[role]))) as never);
    t.same([res.statusCode, res.json()], [403, FORBIDDEN], `${op.operationId}: a demoted ${role}`);
  }
  t.same(await snapshot(), before, "nothing was created or changed");
});

t.test("a guest whose record is gone or expired is refused with 401 on every guest operation, and changes nothing", async (t) => {
  const host = await makeUser(app, "host");
  const link = await createLink(app, host);
  const live = await makeGuest(app);
  const liveCall = await startCall(app, live, link.short_code);
  const gone = await makeGuest(app);
  const goneCall = await startCall(app, gone, link.short_code);
  const expired = await makeGuest(app);
  const expiredCall = await startCall(app, expired, link.short_code);
  const target = (token: string, callId: string): Target => ({ token, callId, linkId: link.id, userId: host.ulid, shortCode: link.short_code });

  for (const op of withGuestToken) {
    const res = await injectOnce(app, (await validRequest(op, target(live.token, liveCall.call.id))) as never);
    if (res.statusCode === 401) t.fail(`${op.operationId}: a live guest is refused: ${res.body}`);
  }

  const goneToken = gone.token;
  await app.db.guest.delete({ where: { id: gone.id } });
  // The token itself is fresh: only the guest's record says it is over.
  await app.db.guest.update({ where: { id: expired.id }, data: { expiresAt: new Date(clock.now() - 1) } });
  const before = await snapshot();
  clock.advance(1000); // a write of unchanged values would still move an updated_at
  for (const op of withGuestToken) {
    for (const [which, token, callId] of [["deleted", goneToken, goneCall.call.id], ["expired", expired.token, expiredCall.call.id]] as const) {
      const res = await injectOnce(app, (await validRequest(op, target(token, callId))) as never);
      t.same([res.statusCode, res.json()], [401, UNAUTHORIZED], `${op.operationId}: the guest's record ${which}`);
    }
  }
  t.same(await snapshot(), before, "nothing was written");
});
