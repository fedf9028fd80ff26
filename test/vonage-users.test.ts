// The Vonage Users API adapter (src/adapters/vonage/users.ts) against the local Vonage server
// (test/helpers/vonage-server.ts): the calls and their bodies, pagination, the application token
// and its renewal on the injected clock, and how every failure maps onto the port's errors.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import t from "tap";
import { vonageUsers, type VonageUsersSettings } from "../src/adapters/vonage/users.ts";
import { ManualClock } from "../src/domain/ports/clock.ts";
import {
  VonageDuplicateName,
  VonageRefused,
  VonageUnavailable,
  VonageUserNotFound,
  type VonageUserSummary,
} from "../src/domain/ports/vonage-users.ts";
import { startVonageServer, type VonageServer } from "./helpers/vonage-server.ts";

async function setup(t: { teardown(fn: () => unknown): void }, settings: Partial<VonageUsersSettings> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const vonage = await startVonageServer({ now: () => clock.now() });
  t.teardown(() => vonage.close());
  const users = vonageUsers({ applicationId: vonage.applicationId, privateKeyPem: vonage.privateKeyPem, apiBase: vonage.url, now: () => clock.now(), ...settings });
  return { clock, vonage, users };
}

const lastRequest = (vonage: VonageServer) => vonage.requests.at(-1)!;

t.test("create, get, update and delete a user", async (t) => {
  const { vonage, users } = await setup(t);

  const paul = await users.create({ name: "paul", displayName: "Paul" });
  t.match(paul.id, /^USR-[0-9a-f-]{36}$/);
  t.same(paul, { id: paul.id, name: "paul", displayName: "Paul", imageUrl: null, customData: {} });
  t.match(lastRequest(vonage), { method: "POST", path: "/v1/users", body: { name: "paul", display_name: "Paul" }, status: 201 });
  t.notOk("image_url" in (lastRequest(vonage).body as object), "no image_url unless given");
  t.ok(vonage.users.has(paul.id));

  const withImage = await users.create({ name: "ann", displayName: "Ann", imageUrl: "https://example.com/ann.png", customData: { signup: "m-1" } });
  t.equal(withImage.imageUrl, "https://example.com/ann.png");
  t.match(lastRequest(vonage).body, { properties: { custom_data: { signup: "m-1" } } }, "custom data sent as properties.custom_data");
  t.same((await users.get(withImage.id)).customData, { signup: "m-1" }, "and read back");

  t.same(await users.get(paul.id), paul);

  const updated = await users.update(paul.id, { imageUrl: "https://example.com/paul.png" });
  t.same(updated, { ...paul, imageUrl: "https://example.com/paul.png" });
  t.match(lastRequest(vonage), { method: "PATCH", path: `/v1/users/${paul.id}`, body: { image_url: "https://example.com/paul.png" }, status: 200 });
  t.same(Object.keys(lastRequest(vonage).body as object), ["image_url"], "only the fields given");
  t.equal((await users.update(paul.id, { displayName: "Paul S." })).displayName, "Paul S.");
  t.equal((await users.update(paul.id, { name: "paul-s" })).name, "paul-s", "a new name");
  t.equal(vonage.users.get(paul.id)?.image_url, "https://example.com/paul.png", "the other field is kept");

  await users.delete(paul.id);
  t.match(lastRequest(vonage), { method: "DELETE", status: 204 });
  t.notOk(vonage.users.has(paul.id));

  for (const attempt of [() => users.get(paul.id), () => users.update(paul.id, { displayName: "x" }), () => users.delete(paul.id)]) {
    const err = await attempt().catch((e: unknown) => e);
    t.ok(err instanceof VonageUserNotFound, "a user gone is VonageUserNotFound");
    t.equal((err as VonageUserNotFound).userId, paul.id);
  }
});

t.test("a name already taken is VonageDuplicateName, with Vonage's problem details", async (t) => {
  const { vonage, users } = await setup(t);
  await users.create({ name: "paul", displayName: "Paul" });
  const err = await users.create({ name: "paul", displayName: "Another Paul" }).catch((e: unknown) => e);
  t.ok(err instanceof VonageDuplicateName);
  t.match((err as VonageDuplicateName).problem, { status: 409, code: "user:error:duplicate-name", title: String, detail: /paul/, type: /user:error:duplicate-name$/, instance: String });
  t.equal((err as VonageDuplicateName).userName, "paul");
  t.equal(vonage.users.size, 1, "nothing created");
});

t.test("findByName finds exactly that name, or null", async (t) => {
  const { vonage, users } = await setup(t);
  vonage.seed({ name: "paula", display_name: "Paula" });
  const paul = vonage.seed({ name: "paul", display_name: "Paul" });
  t.same(await users.findByName("paul"), { id: paul.id, name: "paul", displayName: "Paul" });
  t.match(lastRequest(vonage), { method: "GET", path: "/v1/users", query: { name: "paul", page_size: "100" } });
  t.equal(await users.findByName("pau"), null);
  t.equal(await users.findByName("nobody"), null);
});

t.test("pages: 250 users in three pages of up to 100, in order, following _links.next", async (t) => {
  const { vonage, users } = await setup(t);
  const seeded = Array.from({ length: 250 }, (_, i) => vonage.seed({ name: `user-${String(i).padStart(3, "0")}`, display_name: `User ${i}` }));
  const pages: VonageUserSummary[][] = [];
  for await (const page of users.pages()) pages.push(page);
  t.same(pages.map((p) => p.length), [100, 100, 50]);
  t.same(pages.flat().map((u) => u.id), seeded.map((u) => u.id), "every user once, in Vonage's order");
  t.same(pages[0]![0], { id: seeded[0]!.id, name: "user-000", displayName: "User 0" });
  const gets = vonage.requests.filter((r) => r.method === "GET");
  t.equal(gets.length, 3);
  t.same(gets[0]!.query, { page_size: "100" });
  t.ok(gets[1]!.query.cursor && gets[2]!.query.cursor && gets[1]!.query.cursor !== gets[2]!.query.cursor, "the cursors of the next links");

  // A user deleted between pages does not shift the next page.
  const partial: string[] = [];
  for await (const page of users.pages()) {
    if (partial.length === 0) vonage.users.delete(seeded[100]!.id);
    partial.push(...page.map((u) => u.id));
  }
  t.same(partial, seeded.filter((_, i) => i !== 100).map((u) => u.id));
});

t.test("the application token: RS256 claims, reused, renewed a minute before it expires", async (t) => {
  const { clock, vonage, users } = await setup(t);
  await users.findByName("a");
  await users.findByName("b");
  const [first, second] = vonage.requests.map((r) => r.token!);
  t.ok(first && second);
  t.equal(first!.iat, Math.floor(clock.now() / 1000));
  t.equal(first!.exp - first!.iat, 900);
  t.same(first!.header, { alg: "RS256", typ: "JWT" }, "Vonage's header, no kid");
  t.same(Object.keys(first!.claims).sort(), ["application_id", "exp", "iat", "jti"], "no sub, no acl");
  t.equal(first!.claims.application_id, vonage.applicationId);
  t.equal(second!.jti, first!.jti, "one token for both requests");

  clock.advance(839_000);
  await users.findByName("c");
  t.equal(lastRequest(vonage).token!.jti, first!.jti, "still the same 61 s before expiry");
  clock.advance(2_000);
  await users.findByName("d");
  const renewed = lastRequest(vonage).token!;
  t.not(renewed.jti, first!.jti, "a new token 59 s before expiry");
  t.equal(renewed.iat, Math.floor(clock.now() / 1000));
  t.equal(lastRequest(vonage).status, 200);
});

t.test("a token Vonage does not accept is VonageRefused with the 401", async (t) => {
  const { clock, vonage } = await setup(t);
  const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const cases: [string, Partial<VonageUsersSettings>][] = [
    ["another key", { privateKeyPem: otherKey }],
    ["another application", { applicationId: randomUUID() }],
    ["expired by Vonage's clock", { now: () => clock.now() - 901_000 }],
  ];
  for (const [what, override] of cases) {
    const users = vonageUsers({ applicationId: vonage.applicationId, privateKeyPem: vonage.privateKeyPem, apiBase: vonage.url, now: () => clock.now(), ...override });
    const err = await users.create({ name: "paul", displayName: "Paul" }).catch((e: unknown) => e);
    t.ok(err instanceof VonageRefused, what);
    t.match((err as VonageRefused).problem, { status: 401, title: "Unauthorized", detail: String }, what);
    t.notMatch((err as Error).message, /eyJ/, "the token is not in the message");
  }
  t.equal(vonage.users.size, 0);

  const bare = await fetch(`${vonage.url}/v1/users`);
  t.equal(bare.status, 401, "no token at all");
});

t.test("5xx, 429, a cut connection and a timeout are VonageUnavailable; nothing is retried", async (t) => {
  const { vonage, users } = await setup(t, { timeoutMs: 200 });

  vonage.fail(1, "server_error");
  let err = await users.findByName("paul").catch((e: unknown) => e);
  t.ok(err instanceof VonageUnavailable);
  t.match(err, { status: 500, retryAfterSeconds: null });

  vonage.fail(1, "service_unavailable");
  t.match(await users.findByName("paul").catch((e: unknown) => e), { status: 503 });

  vonage.fail(1, "rate_limited", { retryAfterSeconds: 7 });
  err = await users.create({ name: "paul", displayName: "Paul" }).catch((e: unknown) => e);
  t.ok(err instanceof VonageUnavailable);
  t.match(err, { status: 429, retryAfterSeconds: 7 });
  t.equal(vonage.users.size, 0, "refused before executing");

  vonage.fail(1, "unreachable");
  err = await users.get("USR-00000000-0000-0000-0000-000000000000").catch((e: unknown) => e);
  t.ok(err instanceof VonageUnavailable);
  t.match(err, { status: 0 });

  vonage.delay(1000, 1, { method: "GET" });
  const started = Date.now();
  err = await users.findByName("paul").catch((e: unknown) => e);
  t.ok(err instanceof VonageUnavailable);
  t.match(err, { status: 0, message: /no answer within 200 ms/ });
  t.ok(Date.now() - started < 900, "gave up at the timeout");

  const requests = vonage.requests.length;
  t.equal(await users.findByName("paul"), null, "the next request succeeds");
  t.equal(vonage.requests.length, requests + 1, "one request each: no retries inside");
  t.equal(requests, 5);
});

t.test("a create whose answer is lost or late: the user exists and findByName finds it", async (t) => {
  const { vonage, users } = await setup(t, { timeoutMs: 200 });

  vonage.fail(1, "lost_response", { method: "POST" });
  const err = await users.create({ name: "paul", displayName: "Paul" }).catch((e: unknown) => e);
  t.ok(err instanceof VonageUnavailable, "the outcome is unknown");
  t.equal(vonage.users.size, 1, "but Vonage created the user");
  const found = await users.findByName("paul");
  t.same(found, { id: [...vonage.users.keys()][0], name: "paul", displayName: "Paul" });

  vonage.delay(1000, 1, { method: "POST" });
  t.ok((await users.create({ name: "ann", displayName: "Ann" }).catch((e: unknown) => e)) instanceof VonageUnavailable, "timed out");
  t.ok(await users.findByName("ann"), "created all the same");
  t.ok((await users.create({ name: "ann", displayName: "Ann" }).catch((e: unknown) => e)) instanceof VonageDuplicateName, "a blind retry meets the duplicate");
});
