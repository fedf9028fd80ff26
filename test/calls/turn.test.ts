// TURN credentials (docs/calls.md, "TURN credentials") in coturn's use-auth-secret form: username
// "<unix expiry>:<call id>", credential base64(HMAC-SHA1(TURN_SECRET, username)), urls from
// TURN_URLS. Computed here independently, as coturn would.
import { createHmac } from "node:crypto";
import t from "tap";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { testApp } from "../helpers/app.ts";
import { createLink, join, makeGuest, makeUser, startCall } from "../helpers/calls.ts";

const SECRET = "turn-shared-secret-for-tests";
const hmac = (secret: string, username: string) => createHmac("sha1", secret).update(username).digest("base64");
const unix = (ms: number) => Math.floor(ms / 1000);

t.test("initiate and join carry credentials coturn accepts", async (t) => {
  const { app, clock } = await testApp(t, {
    env: {
      TURN_URLS: "turn:turn.example.test:3478?transport=udp, turns:turn.example.test:5349?transport=tcp",
      TURN_SECRET: SECRET,
      TURN_TTL_SECONDS: "600",
    },
    overrides: { tickIntervalMs: 0 },
  });
  const urls = ["turn:turn.example.test:3478?transport=udp", "turns:turn.example.test:5349?transport=tcp"];
  const host = await makeUser(app, "host", "Hal");
  const link = await createLink(app, host);
  const guest = await makeGuest(app);

  clock.advance(1234); // not on a whole second: the expiry is whole seconds
  const started = await startCall(app, guest, link.short_code);
  const g = started.turn_credentials;
  t.same(g.urls, urls, "urls are the configured list, in order");
  t.equal(g.username, `${unix(clock.now()) + 600}:${started.call.id}`, "username is <expiry>:<call id>");
  t.equal(g.credential, hmac(SECRET, g.username), "credential is base64(HMAC-SHA1(secret, username))");

  clock.advance(90_000);
  const joined = (await join(app, host, started.call.id)) as Awaited<ReturnType<typeof join>> & { turn_credentials: typeof g };
  const h = joined.turn_credentials;
  t.same(h.urls, urls);
  t.equal(h.username, `${unix(clock.now()) + 600}:${started.call.id}`, "the host's expiry counts from the join");
  t.equal(h.credential, hmac(SECRET, h.username));
  t.not(h.username, g.username);

  // A reconnect long after the first credentials expired gets working ones with its token.
  clock.advance(3_600_000);
  for (const [who, token] of [["guest", guest.token], ["host", host.token]] as const) {
    const res = await app.inject({ method: "POST", url: `/v1/calls/${started.call.id}/signaling-token`, headers: { authorization: `Bearer ${token}` } });
    t.equal(res.statusCode, 201, who);
    const fresh = res.json().turn_credentials;
    t.same(fresh.urls, urls);
    t.equal(fresh.username, `${unix(clock.now()) + 600}:${started.call.id}`, `${who}: valid for the TTL from now`);
    t.equal(fresh.credential, hmac(SECRET, fresh.username));
  }
});

t.test("without TURN_SECRET the credentials cannot be predicted", async (t) => {
  const clock = new ManualClock(new Date());
  const one = await testApp(t, { overrides: { clock, tickIntervalMs: 0 } });
  const two = await testApp(t, { overrides: { clock, tickIntervalMs: 0 } });
  const host = await makeUser(one.app, "host", "Hal");
  const link = await createLink(one.app, host);
  const started = await startCall(one.app, await makeGuest(one.app), link.short_code);
  const { username, credential } = started.turn_credentials;
  t.equal(username, `${unix(clock.now()) + 3600}:${started.call.id}`, "the TTL defaults to an hour");
  t.not(credential, hmac("", username), "not keyed with an empty secret");
  const elsewhere = two.app.services.calls.turnFor(fromUlid(started.call.id)!);
  t.equal(elsewhere.username, username, "same call, same moment, same username");
  t.not(elsewhere.credential, credential, "a different instance draws a different secret");
});
