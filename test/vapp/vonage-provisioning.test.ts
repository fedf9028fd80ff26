// Vonage mode's accounts (docs/vapp.md, "Vonage mode"; src/domain/vonage-accounts.ts): signup
// makes exactly one user in the Vonage Users API and the account names it by its USR- id; no
// failure (a name Vonage has, Vonage failing, slow or answering too late, the account's insert
// failing, a remote delete failing) leaves anything half-made on either side once the tasks have
// run; pictures, names and deletions reach the remote user, retried until they do.
import t, { type Test } from "tap";
import { randomUUID } from "node:crypto";
import { ORPHAN_CHECK_AFTER_MS, ORPHAN_LAST_CHECK_MS, SETTLE_MS, SIGNUP_MARKER } from "../../src/domain/vonage-accounts.ts";
import { captureLogs } from "../helpers/app.ts";
import { multipart, png } from "../helpers/images.ts";
import { bearer as v1Bearer, register } from "../helpers/v1.ts";
import { VALIDATION, bearer, json, signup } from "../helpers/vapp.ts";
import { vonageTestApp } from "../helpers/vonage-app.ts";
import { LATE_MS } from "../helpers/vonage-server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (polling) until `ready()` holds. */
async function until(ready: () => boolean) {
  for (let i = 0; i < 500 && !ready(); i++) await sleep(10);
}

type Tap = Test;
type App = Awaited<ReturnType<typeof vonageTestApp>>;

const TAKEN = { ...VALIDATION, invalid_parameters: [{ name: "name", reason: "must be unique" }] };
const UNAVAILABLE = { type: "server:unavailable", title: "Service Unavailable", detail: "The service is temporarily unavailable" };

/** A Vonage-mode app whose Users API client gives up after `timeoutMs` (the stand-in can hold answers back longer). */
const appWithTimeout = (t: Tap, timeoutMs: number) => vonageTestApp(t, { vonageTimeoutMs: timeoutMs });

const rawSignup = (app: App["app"], name: string, display_name = `${name} display`) =>
  app.inject({ method: "POST", url: "/signup", headers: json, payload: { name, password: "correct horse", display_name } });
const login = (app: App["app"], name: string) => app.inject({ method: "POST", url: "/login", headers: json, payload: { name, password: "correct horse" } });

/** Every task due within `ms` from now run (the clock moved there), until none is left to run. */
async function runTasks(a: App, ms = 0) {
  a.clock.advance(ms);
  await a.app.services.vonage!.idle();
  while ((await a.app.services.vonage!.runDue()) > 0);
}
const queryTasks = (a: App) => a.app.db.vonageTask.findMany({ select: { kind: true, attempts: true }, orderBy: { createdAt: "asc" } });

/**
 * A signup whose create's connection is cut (as far as the service can tell it failed: 503, the
 * lookup finds nothing) and whose request then reaches Vonage after all: the user it made.
 */
async function lateAttempt(t: Tap, a: App, name: string) {
  a.vonage.fail(1, "arrives_late", { method: "POST", path: "/v1/users" });
  t.equal((await rawSignup(a.app, name)).statusCode, 503, "the attempt gave up");
  await sleep(LATE_MS + 100);
  const late = [...a.vonage.users.values()].find((u) => u.name === name);
  t.ok(late, "its user arrived at Vonage after the answer");
  return late!;
}

/** The invariant: every remote user is an account's, every V-app account has its remote user (by id and name), and no work is left. */
async function assertInStep(t: Tap, a: App, what: string) {
  const accounts = await a.app.db.user.findMany({ where: { username: { not: null }, deletedAt: null }, select: { username: true, vonageUserId: true } });
  const remote = [...a.vonage.users.values()].map((u) => ({ username: u.name, vonageUserId: u.id }));
  const key = (u: { username: string | null; vonageUserId: string | null }) => `${u.username}=${u.vonageUserId}`;
  t.same(accounts.map(key).sort(), remote.map(key).sort(), `${what}: the accounts and the remote users match one to one`);
  t.same(await queryTasks(a), [], `${what}: no task left`);
}

t.test("signup makes exactly one remote user, and the account's V-app id is its id", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  const paul = await signup(app, "paul");
  t.equal(vonage.users.size, 1);
  const [remote] = [...vonage.users.values()];
  t.equal(paul.user.id, remote!.id, "the user's id is the one Vonage gave");
  t.match(remote, { name: "paul", display_name: "paul display" });
  t.type(remote!.properties.custom_data[SIGNUP_MARKER], "string", "the remote user carries the signup's marker");
  t.same(vonage.requests.map((r) => `${r.method} ${r.path} ${r.status}`), ["POST /v1/users 201"], "one request");

  // The token names it, opens /users, and the other users see that id.
  const claims = JSON.parse(Buffer.from(paul.token.split(".")[1]!, "base64url").toString()) as { user_id: string; sub: string };
  t.equal(claims.user_id, remote!.id);
  t.equal((await app.inject({ method: "GET", url: "/users", headers: bearer(paul.token) })).statusCode, 200);
  const arden = await signup(app, "arden");
  t.same(arden.users, [paul.user], "listed by its Vonage id");
  const again = await login(app, "paul");
  t.equal(again.json().user.id, remote!.id, "and so at every login");
  await assertInStep(t, a, "after two signups");
});

t.test("a name taken here is refused before Vonage is asked; a name only Vonage has is refused too, and nothing is made", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  await signup(app, "paul");
  const requests = vonage.requests.length;
  const local = await rawSignup(app, "paul");
  t.equal(local.statusCode, 409);
  t.same(local.json(), TAKEN);
  t.equal(vonage.requests.length, requests, "Vonage was not asked");

  const elsewhere = vonage.seed({ name: "carla", display_name: "Carla at Vonage" });
  const remoteOnly = await rawSignup(app, "carla");
  t.equal(remoteOnly.statusCode, 409);
  t.same(remoteOnly.json(), TAKEN, "the seed's 409 body");
  t.equal((await login(app, "carla")).statusCode, 403, "no account was made");
  t.same(vonage.users.get(elsewhere.id), { ...elsewhere }, "the remote user is untouched");
  t.equal(vonage.users.size, 2);
  t.same(await queryTasks(a), [], "no intent left");
});

t.test("Vonage failing: 503 and nothing made; the intent's orphan check finds nothing; a retry succeeds", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  vonage.fail(1, "service_unavailable", { method: "POST", path: "/v1/users" });
  const res = await rawSignup(app, "paul");
  t.equal(res.statusCode, 503);
  t.same(res.json(), UNAVAILABLE);
  t.ok(Number(res.headers["retry-after"]) > 0, "Retry-After");
  t.equal(vonage.users.size, 0);
  t.equal((await login(app, "paul")).statusCode, 403);
  t.same(await queryTasks(a), [{ kind: "orphan", attempts: 0 }], "the given-up intent stays for its check");
  const retried = await signup(app, "paul");
  t.equal(retried.user.id, [...vonage.users.values()][0]!.id, "a retry at once succeeds");
  const lookups = () => vonage.requests.filter((r) => r.method === "GET").length;
  const before = lookups();
  await runTasks(a, ORPHAN_CHECK_AFTER_MS - 1000);
  t.equal(lookups(), before, "not checked before it is due");
  await runTasks(a, 1000);
  t.ok(lookups() > before, "checked");
  t.ok(vonage.users.has(retried.user.id), "the retry's user is not the attempt's: kept");
  await assertInStep(t, a, "the name is the retry's user's (a late create of the attempt cannot land): done");
});

t.test("a given-up attempt's user that reached Vonage late is taken over by the next signup of the name", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  const late = await lateAttempt(t, a, "paul");
  const again = await signup(app, "paul");
  t.equal(again.user.id, late.id, "taken over, not a 409");
  t.equal(vonage.users.size, 1);
  await assertInStep(t, a, "both intents consumed");
  await runTasks(a, ORPHAN_LAST_CHECK_MS);
  t.ok(vonage.users.has(late.id), "and no check deletes it later");
});

t.test("a create whose answer is lost (or too slow) is found by name and adopted: one remote user", async (t) => {
  const a = await appWithTimeout(t, 300);
  const { app, vonage } = a;
  vonage.fail(1, "lost_response", { method: "POST", path: "/v1/users" });
  const lost = await signup(app, "paul");
  t.equal(vonage.users.size, 1);
  t.equal(lost.user.id, [...vonage.users.keys()][0], "adopted");

  vonage.delay(1500, 1, { method: "POST", path: "/v1/users" });
  const slow = await signup(app, "arden");
  t.equal(vonage.users.size, 2);
  t.ok(vonage.users.has(slow.user.id), "adopted after the timeout");
  await assertInStep(t, a, "after both");
});

t.test("a create that lands after the lookup leaves an orphan, which its check deletes", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  const late = await lateAttempt(t, a, "paul");
  await runTasks(a, ORPHAN_CHECK_AFTER_MS - 1000);
  t.ok(vonage.users.has(late.id), "not before the check is due");
  await runTasks(a, 1000);
  t.notOk(vonage.users.has(late.id), "the orphan is deleted");
  await assertInStep(t, a, "after the check");

  // A user someone else made under the name of a failed signup is not ours: kept.
  vonage.fail(1, "unreachable", { method: "POST", path: "/v1/users" });
  t.equal((await rawSignup(app, "arden")).statusCode, 503);
  const theirs = vonage.seed({ name: "arden" });
  await runTasks(a, ORPHAN_CHECK_AFTER_MS);
  t.ok(vonage.users.has(theirs.id), "another's user is kept");
  t.same(await queryTasks(a), []);
});

t.test("the account's insert failing (the name taken here meanwhile) deletes the remote user; a failing delete is retried by the orphan check", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  // While Vonage's answer is on its way, the name is taken here (an operator, in psql).
  const takeName = (username: string) =>
    a.app.db.user.create({ data: { id: randomUUID(), username, displayName: username, passwordHash: "", createdAt: new Date(a.clock.now()), updatedAt: new Date(a.clock.now()) } });
  const posted = (name: string) => vonage.requests.find((r) => r.method === "POST" && (r.body as { name?: string } | null)?.name === name);
  vonage.delay(400, 1, { method: "POST", path: "/v1/users" });
  const signingUp = rawSignup(app, "paul");
  await until(() => posted("paul") !== undefined);
  await takeName("paul");
  const res = await signingUp;
  t.equal(res.statusCode, 409);
  t.same(res.json(), TAKEN);
  t.equal(posted("paul")?.status, 201, "its user was made at Vonage");
  t.match(vonage.requests.at(-1), { method: "DELETE", status: 204 }, "and deleted");
  t.equal(vonage.users.size, 0);
  t.same(await queryTasks(a), [], "nothing left to do");

  vonage.delay(400, 1, { method: "POST", path: "/v1/users" });
  vonage.fail(1, "service_unavailable", { method: "DELETE" });
  const second = rawSignup(app, "arden");
  await until(() => posted("arden") !== undefined);
  await takeName("arden");
  t.equal((await second).statusCode, 409);
  t.equal(vonage.users.size, 1, "the delete failed: the orphan is still there");
  await runTasks(a, ORPHAN_CHECK_AFTER_MS);
  t.equal(vonage.users.size, 0, "its check deleted it");
  t.same(await queryTasks(a), []);
});

t.test("many signups of one name at once: exactly one account, one remote user", async (t) => {
  const a = await vonageTestApp(t);
  const results = await Promise.all(Array.from({ length: 12 }, () => rawSignup(a.app, "paul")));
  const codes = results.map((r) => r.statusCode).sort();
  t.same(codes, [201, ...Array(11).fill(409)], "one 201, the others 409");
  await runTasks(a, ORPHAN_CHECK_AFTER_MS);
  await assertInStep(t, a, "after the race");
});

t.test("generated fault schedules: whatever fails, once the tasks have run the two sides match", async (t) => {
  const faults = ["none", "server_error", "lost_response", "unreachable", "rate_limited", "arrives_late", "lookup_fails", "delete_fails_too"] as const;
  let seed = 20261130;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const a = await appWithTimeout(t, 400);
  const { app, vonage } = a;
  for (let round = 0; round < 4; round++) {
    const names = Array.from({ length: 6 }, (_, i) => `r${round}u${i}`);
    // Each signup gets a fault (the stand-in applies them to the next matching requests, in order).
    for (const _ of names) {
      const f = faults[Math.floor(random() * faults.length)]!;
      if (f === "server_error" || f === "lost_response" || f === "unreachable" || f === "rate_limited" || f === "arrives_late") vonage.fail(1, f, { method: "POST", path: "/v1/users" });
      if (f === "lookup_fails") {
        vonage.fail(1, "unreachable", { method: "POST", path: "/v1/users" });
        vonage.fail(1, "service_unavailable", { method: "GET", path: "/v1/users" });
      }
      if (f === "delete_fails_too") vonage.fail(1, "service_unavailable", { method: "DELETE" });
    }
    // Some names also taken at Vonage by someone else, one signed up for twice here, and one
    // taken by a v1 account while its signup is under way.
    if (random() < 0.5) vonage.seed({ name: names[0]! });
    const v1 = await register(app, `v1-${round}@example.com`);
    const [results] = await Promise.all([
      Promise.all([...names, names[1]!].map((n) => rawSignup(app, n))),
      sleep(Math.floor(random() * 40)).then(() =>
        app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...v1Bearer(v1.access_token) }, payload: { username: names[2] } }),
      ),
    ]);
    for (const r of results) t.ok([201, 409, 503].includes(r.statusCode), `an answer the contract declares (${r.statusCode})`);
    await sleep(LATE_MS + 100); // requests that arrive late have arrived
    // Faults meant for one signup may hit another's request, or a task's: tasks retry (backing off) until done.
    for (let i = 0; i < 10 && (await queryTasks(a)).length > 0; i++) await runTasks(a, ORPHAN_LAST_CHECK_MS);
    // Seeded users are someone else's: not an account's, and left alone.
    const accounts = await a.app.db.user.findMany({ where: { username: { in: names }, vonageUserId: { not: null } }, select: { username: true, vonageUserId: true } });
    for (const acc of accounts) t.equal(vonage.users.get(acc.vonageUserId!)?.name, acc.username, `${acc.username}: its remote user`);
    const ours = [...vonage.users.values()].filter((u) => names.includes(u.name) && SIGNUP_MARKER in u.properties.custom_data);
    t.same(ours.map((u) => u.id).sort(), accounts.map((acc) => acc.vonageUserId).sort(), `round ${round}: every remote user a signup made is an account's`);
    t.same(await queryTasks(a), [], `round ${round}: no task left`);
  }
});

t.test("a picture reaches the remote user, retried (and logged) while Vonage fails", async (t) => {
  const { lines, logStream } = captureLogs();
  const a = await vonageTestApp(t, { env: { LOG_LEVEL: "warn" }, overrides: { logStream } });
  const { app, vonage } = a;
  const paul = await signup(app, "paul");
  const upload = async () => {
    const body = await multipart([{ name: "image", data: png(4, 4), filename: "me.png", type: "image/png" }]);
    const res = await app.inject({ method: "POST", url: "/users/image", ...body, headers: { ...body.headers, ...bearer(paul.token) } });
    t.equal(res.statusCode, 200);
    return res.json().image_url as string;
  };
  const first = await upload();
  await a.app.services.vonage!.idle();
  t.equal(vonage.users.get(paul.user.id)!.image_url, first, "the remote user has the picture");
  t.same(await queryTasks(a), []);

  vonage.fail(2, "service_unavailable", { method: "PATCH" });
  const second = await upload();
  await a.app.services.vonage!.idle();
  t.equal(vonage.users.get(paul.user.id)!.image_url, first, "not yet: Vonage failed");
  t.same(await queryTasks(a), [{ kind: "push", attempts: 1 }], "kept, to be retried");
  t.ok(lines.some((l) => /"level":40/.test(l) && /vonage: push failed; retried later/.test(l)), "the failure is logged");
  await runTasks(a, 10_000);
  t.same(await queryTasks(a), [{ kind: "push", attempts: 2 }], "failed again; backing off");
  await runTasks(a, 19_000);
  t.equal(vonage.users.get(paul.user.id)!.image_url, first, "not before its time");
  await runTasks(a, 1_000);
  t.equal(vonage.users.get(paul.user.id)!.image_url, second, "then it arrives");
  t.same(await queryTasks(a), []);
  t.notOk(lines.some((l) => l.includes(vonage.privateKeyPem.slice(40, 80))), "no key in the logs");
});

t.test("a name or display name changed through v1 reaches the remote user; a deleted account's remote user is deleted", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  const paul = await signup(app, "paul");
  const paulId = (await a.app.db.user.findFirstOrThrow({ where: { username: "paul" } })).id;
  await a.app.services.accounts.updateProfile(paulId, { displayName: "Paul P.", username: "paulp" });
  await a.app.services.vonage!.idle();
  t.match(vonage.users.get(paul.user.id), { name: "paulp", display_name: "Paul P." });

  await a.app.services.personalData.erase(paulId, { actor: { kind: "system" }, by: "operator" });
  await a.app.services.vonage!.idle();
  t.notOk(vonage.users.has(paul.user.id), "deleted at Vonage");
  t.equal((await app.inject({ method: "GET", url: "/users", headers: bearer(paul.token) })).statusCode, 403, "its token names no one");
  await assertInStep(t, a, "after the deletion");
});

t.test("accounts made before the mode was on keep USR-<their id>", async (t) => {
  const a = await vonageTestApp(t);
  const { app } = a;
  // As an account made without Vonage mode (no remote user yet): vonage-sync links or makes it.
  const before = await a.app.db.user.create({
    data: { id: "0193aaaa-0000-7000-8000-000000000001", username: "old", displayName: "Old", passwordHash: "", createdAt: new Date(a.clock.now()), updatedAt: new Date(a.clock.now()) },
  });
  const paul = await signup(app, "paul");
  t.same(
    (paul.users as { id: string }[]).map((u) => u.id),
    [`USR-${before.id}`],
    "listed as before",
  );
  // Its token (as /login gives it) names it by that id, and opens /users.
  const oldToken = app.tokens.vapp(before);
  const claims = JSON.parse(Buffer.from(oldToken.split(".")[1]!, "base64url").toString()) as { user_id: string };
  t.equal(claims.user_id, `USR-${before.id}`);
  const list = await app.inject({ method: "GET", url: "/users", headers: bearer(oldToken) });
  t.equal(list.statusCode, 200);
  t.same((list.json() as { id: string }[]).map((u) => u.id), [paul.user.id], "it sees paul by his Vonage id");
});

t.test("a new name reaches Vonage first: another's name there is refused, an unanswered rename is set back", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  const paul = await signup(app, "paul");
  const paulId = (await a.app.db.user.findFirstOrThrow({ where: { username: "paul" } })).id;
  const hers = vonage.seed({ name: "carol", display_name: "Carol" });
  const rename = (username: string) => a.app.services.accounts.updateProfile(paulId, { username }).then(() => 200, (e: { code?: string }) => e.code);

  t.equal(await rename("carol"), "conflict", "a name another user has at Vonage: 409");
  t.equal(vonage.users.get(hers.id)?.name, "carol", "hers untouched");
  t.match(vonage.users.get(paul.user.id), { name: "paul" });
  t.equal((await login(app, "carol")).statusCode, 403, "and no token names carol");

  t.equal(await rename("paul2"), 200);
  t.match(vonage.users.get(paul.user.id), { name: "paul2" }, "renamed at Vonage");
  const claims = JSON.parse(Buffer.from((await login(app, "paul2")).json().token.split(".")[1], "base64url").toString()) as { sub: string; user_id: string };
  t.same([claims.sub, claims.user_id], ["paul2", paul.user.id]);

  // Applied at Vonage, the answer lost: 503 here, and the name there is set back to the account's.
  vonage.fail(1, "lost_response", { method: "PATCH" });
  t.equal(await rename("paul3"), "service_unavailable");
  t.equal(vonage.users.get(paul.user.id)?.name, "paul3", "applied at Vonage");
  await a.app.services.vonage!.idle();
  await runTasks(a);
  t.equal(vonage.users.get(paul.user.id)?.name, "paul2", "set back");
  vonage.users.delete(hers.id); // someone else's
  await assertInStep(t, a, "after the set-back");
});

t.test("an account's first username (v1) makes its user at Vonage; a name Vonage has is refused", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  const hana = await register(app, "hana@example.com");
  const patch = (username: string) =>
    app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...v1Bearer(hana.access_token) }, payload: { username } });
  vonage.seed({ name: "carol" });
  t.equal((await patch("carol")).statusCode, 409, "a name only Vonage has");
  vonage.fail(1, "service_unavailable", { method: "POST", path: "/v1/users" });
  t.equal((await patch("hana")).statusCode, 503, "Vonage failing");
  t.equal((await patch("hana")).statusCode, 200);
  const account = await a.app.db.user.findFirstOrThrow({ where: { username: "hana" } });
  t.match(vonage.users.get(account.vonageUserId!), { name: "hana" }, "its user at Vonage");
  const arden = await signup(app, "arden");
  t.same(arden.users, [{ id: account.vonageUserId, name: "hana", display_name: account.displayName, image_url: null }], "listed by that id");
  await runTasks(a, ORPHAN_LAST_CHECK_MS);
  // carol (seeded) is someone else's; everything else matches.
  vonage.users.delete([...vonage.users.values()].find((u) => u.name === "carol")!.id);
  await assertInStep(t, a, "after the first username");
});

t.test("closed (the instance stopping), no task runs any more", async (t) => {
  const a = await vonageTestApp(t);
  const paul = await signup(a.app, "paul");
  const paulId = (await a.app.db.user.findFirstOrThrow({ where: { username: "paul" } })).id;
  await a.app.services.vonage!.close();
  const before = a.vonage.requests.length;
  await a.app.services.accounts.updateProfile(paulId, { displayName: "Paul P." });
  await a.app.services.vonage!.idle();
  t.equal(a.vonage.requests.length, before, "nothing sent");
  t.same(await queryTasks(a), [{ kind: "push", attempts: 0 }], "the push waits for the next instance");
  t.ok(paul);
});

t.test("a push whose request arrives late cannot have the last word: the newer fields are sent once more", async (t) => {
  const a = await vonageTestApp(t);
  const { app, vonage } = a;
  const paul = await signup(app, "paul");
  const paulId = (await a.app.db.user.findFirstOrThrow({ where: { username: "paul" } })).id;
  vonage.fail(1, "arrives_late", { method: "PATCH" });
  await a.app.services.accounts.updateProfile(paulId, { displayName: "First" });
  await a.app.services.vonage!.idle();
  t.same(await queryTasks(a), [{ kind: "push", attempts: 1 }], "no answer: to be retried");
  await a.app.services.accounts.updateProfile(paulId, { displayName: "Second" });
  await a.app.services.vonage!.idle();
  t.equal(vonage.users.get(paul.user.id)?.display_name, "Second", "the newer push is applied");
  await sleep(LATE_MS + 100);
  t.equal(vonage.users.get(paul.user.id)?.display_name, "First", "then the first request arrives");
  t.same(await queryTasks(a), [{ kind: "push", attempts: 0 }], "the push is not done: it settles later");
  await runTasks(a, SETTLE_MS);
  t.equal(vonage.users.get(paul.user.id)?.display_name, "Second", "sent once more");
  await assertInStep(t, a, "settled");
});
