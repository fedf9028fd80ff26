// Login with an unknown e-mail costs the same argon2 work as a wrong password: the argon2 library
// is wrapped, and each login's verifications are counted with the parameters they ran with.
import argon2 from "argon2";
import t from "tap";
import type { Passwords } from "../../src/domain/passwords.ts";
import { testApp, CHEAP_ARGON2 } from "../helpers/app.ts";
import { json, PASSWORD, post, register } from "../helpers/v1.ts";

const calls: { fn: "verify" | "hash"; params: string }[] = [];
const phcParams = (phc: string) => phc.split("$").slice(1, 4).join("$"); // argon2id$v=19$m=…,t=…,p=…
const counting = {
  ...argon2,
  verify: async (hash: string, password: string) => {
    calls.push({ fn: "verify", params: phcParams(hash) });
    return argon2.verify(hash, password);
  },
  hash: (async (password: string, options: object) => {
    const call: { fn: "hash"; params: string } = { fn: "hash", params: "" };
    calls.push(call); // counted when asked for, not when done
    const out = await argon2.hash(password, options as never);
    call.params = phcParams(out as unknown as string);
    return out;
  }) as typeof argon2.hash,
};
const { argon2Passwords } = await t.mockImport<typeof import("../../src/domain/passwords.ts")>("../../src/domain/passwords.ts", {
  argon2: { default: counting, ...counting },
});
const passwords: Passwords = argon2Passwords({
  memoryCost: Number(CHEAP_ARGON2.ARGON2_MEMORY_KIB),
  timeCost: Number(CHEAP_ARGON2.ARGON2_TIME_COST),
  parallelism: Number(CHEAP_ARGON2.ARGON2_PARALLELISM),
});
const hashesAtStartup = calls.filter((c) => c.fn === "hash").length;
const { app } = await testApp(t, { overrides: { passwords } });

/** The argon2 calls one request makes (the dummy hash, made once at start-up, is not per-request work). */
async function workOf(request: () => Promise<{ statusCode: number }>, status: number) {
  await passwords.verify(null, "wait for the start-up dummy hash");
  calls.length = 0;
  const res = await request();
  t.equal(res.statusCode, status);
  return calls.splice(0).map((c) => `${c.fn} ${c.params}`);
}

t.test("the dummy hash is made once, at start-up", async (t) => {
  await passwords.verify(null, "x");
  await passwords.verify(null, "y");
  t.equal(hashesAtStartup, 1, "the dummy hash is asked for as the service is built, before any login");
  t.equal(calls.filter((c) => c.fn === "hash").length, 1, "and never again");
});

t.test("v1 login: unknown e-mail and wrong password do the same argon2 work", async (t) => {
  await register(app, "ann@example.com");
  const wrongPassword = await workOf(() => post(app, "/v1/auth/login", { email: "ann@example.com", password: "wrong password" }), 401);
  const unknownEmail = await workOf(() => post(app, "/v1/auth/login", { email: "nobody@example.com", password: "wrong password" }), 401);
  const success = await workOf(() => post(app, "/v1/auth/login", { email: "ann@example.com", password: PASSWORD }), 200);
  t.same(wrongPassword, ["verify argon2id$v=19$m=1024,p=1,t=1"], "one verification with the configured parameters");
  t.same(unknownEmail, wrongPassword, "exactly the same for an unknown e-mail");
  t.same(success, wrongPassword, "and for a successful login");
});

t.test("V-app login too, and password-reset requests do no password work either way", async (t) => {
  await app.inject({ method: "POST", url: "/signup", headers: json, payload: { name: "paul", password: PASSWORD, display_name: "Paul" } });
  const wrong = await workOf(() => post(app, "/login", { name: "paul", password: "wrong password" }), 403);
  const unknown = await workOf(() => post(app, "/login", { name: "nobody", password: "wrong password" }), 403);
  t.same(unknown, wrong);
  t.equal(wrong.length, 1);
  const known = await workOf(() => post(app, "/v1/auth/password/reset", { email: "ann@example.com" }), 202);
  const nobody = await workOf(() => post(app, "/v1/auth/password/reset", { email: "nobody@example.com" }), 202);
  t.same(known, []);
  t.same(nobody, known);
});
