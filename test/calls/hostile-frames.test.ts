// No signaling frame stops the process. Thousands of generated frames — every prototype member name
// as `type`, JSON of any shape, size and depth (own `__proto__` keys, duplicate keys), frames at
// the 64 KiB limit, binary frames, broken JSON, invalid UTF-8 — are sent from the guest and from
// the host of one active call. Each invalid frame is answered with
// `error {code: "invalid_message"}` and the connection stays open; each valid one is relayed
// unchanged (plus `from`); a frame over 64 KiB or a text frame that is not UTF-8 closes the sender with its
// documented code, and the participant reconnects. Meanwhile a second call on the same instance
// keeps exchanging offers and answers, and the process keeps serving.
// parseClientFrame is also driven directly against an independent oracle of the protocol.
import t from "tap";
import fc from "fast-check";
import { testApp } from "../helpers/app.ts";
import { activeCall, bearer, connect, createLink, makeUser, type Client, type Frame, type Party } from "../helpers/calls.ts";
import { PROTOTYPE_NAMES, SEED, brokenJsonText, deepText, invalidUtf8, isValidUtf8, jsonScalarText, jsonText, objectText } from "../helpers/hostile.ts";
import { MAX_FRAME_BYTES, MAX_MESSAGES_PER_SECOND } from "../../src/domain/signaling.ts";
import { frameParser, loadSignalingContract } from "../../src/contract/asyncapi.ts";

const parseClientFrame = frameParser(await loadSignalingContract());

type Role = "guest" | "host";
const other = (r: Role): Role => (r === "guest" ? "host" : "guest");

// --- the protocol, written out independently of src/domain/signaling.ts (docs/signaling.md) ---

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const onlyKeys = (o: object, allowed: string[]) => Object.getOwnPropertyNames(o).every((k) => allowed.includes(k));
const str = (v: unknown, min: number, max: number) => typeof v === "string" && v.length >= min && v.length <= max;
const optional = (o: Record<string, unknown>, k: string, ok: (v: unknown) => boolean) => !Object.hasOwn(o, k) || o[k] === null || ok(o[k]);

/** Is this parsed JSON value a client frame the protocol accepts? */
function protocolAccepts(v: unknown): boolean {
  if (!isRecord(v) || !Object.hasOwn(v, "type")) return false;
  switch (v.type) {
    case "offer":
    case "answer":
      return onlyKeys(v, ["type", "sdp"]) && str(v.sdp, 1, 60_000);
    case "ice_restart":
      return onlyKeys(v, ["type"]);
    case "ice_candidate": {
      const c = v.candidate;
      return (
        onlyKeys(v, ["type", "candidate"]) &&
        isRecord(c) &&
        onlyKeys(c, ["candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"]) &&
        Object.hasOwn(c, "candidate") &&
        str(c.candidate, 0, 4096) &&
        optional(c, "sdpMid", (s) => str(s, 0, 256)) &&
        optional(c, "sdpMLineIndex", (n) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 65535) &&
        optional(c, "usernameFragment", (s) => str(s, 0, 256))
      );
    }
    default:
      return false;
  }
}

function acceptsText(text: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return false;
  }
  return protocolAccepts(v);
}

// --- generated frames ---

const RELAYED = ["offer", "answer", "ice_candidate", "ice_restart"];
const FIELDS = ["type", "sdp", "candidate", "sdpMid", "sdpMLineIndex", "usernameFragment", "from"];
const j = JSON.stringify;

/** A `type` value: the protocol's, a prototype member's, near misses, any string, any JSON. */
const typeText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES).map((n) => j(n)) },
  { weight: 3, arbitrary: fc.constantFrom(...RELAYED).map((n) => j(n)) },
  { weight: 1, arbitrary: fc.constantFrom("Offer", " offer", "offer ", "offer\u0000", "ICE_RESTART", "error", "welcome", "call_ended", "billing", "").map((n) => j(n)) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 16 }).map((n) => j(n)) },
  { weight: 1, arbitrary: jsonText([], 2) },
);

const sdpText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", minLength: 0, maxLength: 200 }).map((s) => j(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 59_998, max: 60_002 }).map((n) => j("s".repeat(n))) },
  { weight: 1, arbitrary: jsonText([], 2) },
);

const candidateText = objectText(
  fc.tuple(
    fc.option(fc.oneof(fc.string({ unit: "binary", maxLength: 60 }).map(j), fc.constant(j("c".repeat(4097))), jsonScalarText)),
    fc.option(fc.oneof(fc.constantFrom('"0"', '"audio"', "null", j("m".repeat(257))), jsonScalarText)),
    fc.option(fc.oneof(fc.constantFrom("0", "1", "65535", "65536", "-1", "1.5", "null", "1e400", "-0", "1.0"), jsonScalarText)),
    fc.option(fc.oneof(fc.constantFrom('"abcd"', "null", j("u".repeat(257))), jsonScalarText)),
  ).map(([candidate, sdpMid, index, ufrag]) =>
    [
      ["candidate", candidate],
      ["sdpMid", sdpMid],
      ["sdpMLineIndex", index],
      ["usernameFragment", ufrag],
    ].filter((e): e is [string, string] => e[1] !== null),
  ),
  ["candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"],
);

/** Objects shaped like frames: a type, the protocol's fields with any values, extra keys. */
const frameLikeText = objectText(
  fc
    .tuple(fc.option(typeText, { freq: 8 }), fc.option(sdpText), fc.option(fc.oneof(candidateText, jsonText(FIELDS, 2))), fc.boolean())
    .map(([type, sdp, candidate, typeTwice]) =>
      [
        ["type", type],
        ["sdp", sdp],
        ["candidate", candidate],
        ["type", typeTwice ? type : null], // a repeated key: JSON.parse keeps the last
      ].filter((e): e is [string, string] => e[1] !== null),
    ),
  FIELDS,
);

/** Well-formed frames of each type (some still invalid at a limit). */
const validishText = fc.oneof(
  fc.record({ type: fc.constantFrom("offer", "answer"), sdp: fc.string({ unit: "binary", minLength: 1, maxLength: 300 }) }).map((v) => j(v)),
  fc.constant(j({ type: "ice_restart" })),
  candidateText.map((c) => `{"type":"ice_candidate","candidate":${c}}`),
  fc.record({ candidate: fc.string({ maxLength: 80 }), sdpMid: fc.option(fc.string({ maxLength: 8 })), sdpMLineIndex: fc.option(fc.nat(65535)) }, { requiredKeys: ["candidate"] }).map((c) => j({ type: "ice_candidate", candidate: c })),
);

/** Frames close to 64 KiB (never over): large SDPs (valid and one over 60 000), large junk, deep nesting. */
const LARGE_CHARS = ["a", "é", "€", "😀"] as const;
const largeText = fc.oneof(
  fc.tuple(fc.constantFrom(...LARGE_CHARS), fc.integer({ min: 0, max: 40 }), fc.constantFrom("offer", "answer", "toString", "__proto__")).map(([ch, slack, type]) => {
    // As many characters as fit in the frame limit (or the 60 000 SDP limit, ± a few), UTF-8 counted.
    const bytesPerUnit = Buffer.byteLength(ch) / ch.length;
    const units = Math.min(60_002 - slack / 10, Math.floor((MAX_FRAME_BYTES - 40 - slack) / bytesPerUnit));
    const sdp = ch.repeat(Math.floor(units / ch.length));
    return j({ type, sdp });
  }),
  fc.tuple(fc.integer({ min: 0, max: 64 }), fc.constantFrom("__proto__", "constructor", "x")).map(([slack, key]) => `{"type":"offer",${j(key)}:${j("z".repeat(MAX_FRAME_BYTES - 40 - slack))}}`),
  deepText(MAX_FRAME_BYTES - 30).map((deep) => `{"type":"offer","sdp":${deep}}`),
  deepText(MAX_FRAME_BYTES - 70).map((deep) => `{"type":"ice_candidate","candidate":{"candidate":"x","sdpMid":${deep}}}`),
  deepText(MAX_FRAME_BYTES),
);

/** One frame as sent: text (string or raw bytes sent as a text frame) or binary; maybe fragmented. */
class Sent {
  constructor(
    readonly data: string | Buffer,
    readonly binary: boolean,
    readonly fragments: number,
  ) {}
  get bytes() {
    return typeof this.data === "string" ? Buffer.from(this.data) : this.data;
  }
  /** What the server must do with it. */
  get outcome(): "relay" | "error" | "close:size" | "close:utf8" {
    const bytes = this.bytes;
    if (bytes.length > MAX_FRAME_BYTES) return "close:size";
    if (this.binary) return "error";
    if (!isValidUtf8(bytes)) return "close:utf8";
    return acceptsText(bytes.toString("utf8")) ? "relay" : "error";
  }
  [fc.toStringMethod]() {
    const text = this.bytes.toString(this.binary ? "hex" : "utf8");
    return `${this.binary ? "binary" : "text"}(${this.bytes.length} B, ${this.fragments} fragment(s)): ${text.length > 160 ? `${text.slice(0, 120)}…${text.slice(-30)}` : text}`;
  }
}

const textFrame = (text: fc.Arbitrary<string>) => fc.tuple(text, fc.integer({ min: 1, max: 3 })).map(([s, n]) => new Sent(s, false, n));

/** Frames that leave the connection open (the few generated over 64 KiB are left to terminalArb). */
const frameArb = fc.oneof(
  { weight: 6, arbitrary: textFrame(frameLikeText) },
  { weight: 3, arbitrary: textFrame(validishText) },
  { weight: 2, arbitrary: textFrame(jsonText(FIELDS)) },
  { weight: 2, arbitrary: textFrame(brokenJsonText(frameLikeText)) },
  { weight: 1, arbitrary: fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), validishText.map((s) => Buffer.from(s))).map((b) => new Sent(b, true, 1)) },
).filter((f) => f.bytes.length <= MAX_FRAME_BYTES);

/** Frames after which the server closes the connection. */
const terminalArb = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 4000 }), fc.boolean()).map(([over, binary]) => new Sent(binary ? Buffer.alloc(MAX_FRAME_BYTES + over, 1) : `{"type":"offer","sdp":"${"o".repeat(MAX_FRAME_BYTES + over - 25)}"}`, binary, 1)),
  invalidUtf8.map((b) => new Sent(b, false, 1)),
  invalidUtf8.map((b) => new Sent(Buffer.concat([Buffer.from('{"type":"offer","sdp":"'), b, Buffer.from('"}')]), false, 2)),
);

const SENTINELS = 2; // a valid and an invalid frame end every batch
const LARGE = 2; // frames near 64 KiB per batch (more would make the receiver a slow consumer)
const batchArb = fc.record({
  sender: fc.constantFrom<Role>("guest", "host"),
  frames: fc.array(frameArb, { maxLength: MAX_MESSAGES_PER_SECOND - SENTINELS - LARGE - 1, size: "max" }),
  large: fc.array(largeText.map((s) => new Sent(s, false, 1)), { maxLength: LARGE }),
  terminal: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: terminalArb }),
});

// --- parseClientFrame, driven directly ---

t.test("parseClientFrame: never throws; ok exactly for frames the protocol accepts", async (t) => {
  const anyText = fc.oneof(frameLikeText, validishText, jsonText(FIELDS), brokenJsonText(frameLikeText), fc.string({ unit: "binary" }));
  let accepted = 0;
  fc.assert(
    fc.property(anyText, (text) => {
      const parsed = parseClientFrame(text);
      const expected = acceptsText(text);
      if (parsed.ok !== expected) throw new Error(`ok=${parsed.ok}, the protocol says ${expected}`);
      if (parsed.ok) {
        accepted++;
        if (j(parsed.message) !== j(JSON.parse(text))) throw new Error("an accepted frame was changed");
      } else if (parsed.code !== "invalid_message" || typeof parsed.message !== "string" || parsed.message.length > 200) {
        throw new Error(`refusal ${j(parsed)}`);
      }
    }),
    { seed: SEED, numRuns: 10_000 },
  );
  // Every prototype member name as `type`, alone and with the fields of each real type.
  for (const name of PROTOTYPE_NAMES) {
    for (const text of [
      j({ type: name }),
      j({ type: name, sdp: "v=0" }),
      j({ type: name, candidate: { candidate: "" } }),
      `{"type":${j(name)},"__proto__":{"type":"offer"}}`,
      `{"__proto__":{"type":"offer","sdp":"x"}}`,
      `{"type":"offer","sdp":"x",${j(name)}:1}`,
    ]) {
      t.match(parseClientFrame(text), { ok: false, code: "invalid_message" }, text);
    }
  }
  t.ok(accepted > 500, `valid frames were generated too (${accepted})`);
});

// --- over a real socket ---

t.test("hostile frames from both participants: answered, relayed or closed per the protocol; the process and another call stay up", async (t) => {
  const { app, clock } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const hostA = await makeUser(app, "host", "Target Host");
  const hostB = await makeUser(app, "host", "Bystander Host");
  const target = await activeCall(app, hostA, (await createLink(app, hostA)).short_code);
  const bystander = await activeCall(app, hostB, (await createLink(app, hostB)).short_code);

  // Every frame each participant of the target call received, across its reconnections.
  // Relayed frames are kept as the text that arrived, to be compared with what was sent.
  interface Side { party: Party; client: Client; relayed: string[]; errors: Frame[]; others: Frame[]; checked: number }
  const sides: Record<Role, Side> = {
    guest: { party: target.guest, client: target.g, relayed: [], errors: [], others: [], checked: 0 },
    host: { party: hostA, client: target.h, relayed: [], errors: [], others: [], checked: 0 },
  };
  const listen = (side: Side, client: Client) => {
    const keep = (text: string) => {
      const f = JSON.parse(text) as Frame;
      if ("from" in f) side.relayed.push(text);
      else if (f.type === "error") side.errors.push(f);
      else side.others.push(f);
    };
    for (const f of client.frames) keep(j(f));
    client.ws.on("message", (data) => keep(String(data)));
  };
  listen(sides.guest, target.g);
  listen(sides.host, target.h);
  // What each participant must have received so far.
  const expected: Record<Role, { relayed: string[]; errors: number }> = { guest: { relayed: [], errors: 0 }, host: { relayed: [], errors: 0 } };

  const until = async (what: string | (() => string), done: () => boolean, timeoutMs = 10_000) => {
    const start = Date.now();
    while (!done()) {
      if (Date.now() - start > timeoutMs) throw new Error(`waited ${timeoutMs} ms for ${typeof what === "string" ? what : what()}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };

  const send = (client: Client, frame: Sent) => {
    const bytes = frame.bytes;
    if (frame.fragments === 1) return client.ws.send(frame.binary ? bytes : frame.data, { binary: frame.binary });
    const cut = [0, ...[1, 2].slice(0, frame.fragments - 1).map((k) => Math.floor((bytes.length * k) / frame.fragments)), bytes.length];
    for (let i = 0; i < frame.fragments; i++) client.ws.send(bytes.subarray(cut[i], cut[i + 1]), { binary: frame.binary, fin: i === frame.fragments - 1 });
  };

  /** Checks that each side got exactly what it should have so far (relayed frames in order, error count, no rate limiting). */
  const check = (r: Role) => {
    const side = sides[r];
    const relayed = side.relayed;
    const want = expected[r].relayed;
    for (let i = side.checked; i < Math.max(relayed.length, want.length); i++) {
      if (relayed[i] !== want[i]) throw new Error(`${r} received relayed frames that differ at #${i}: got ${String(relayed[i]).slice(0, 200)}, expected ${String(expected[r].relayed[i]).slice(0, 200)} (${relayed.length} vs ${want.length})`);
    }
    side.checked = relayed.length;
    const errors = side.errors;
    const wrong = errors.find((e) => e.code !== "invalid_message" || typeof e.message !== "string");
    if (wrong) throw new Error(`${r} got ${j(wrong)}`);
    if (errors.length !== expected[r].errors) throw new Error(`${r} got ${errors.length} error frames, expected ${expected[r].errors}`);
  };

  let sentinel = 0;
  const reconnections: Record<Role, number> = { guest: 0, host: 0 };
  let frames = 0;
  const counts = { relay: 0, error: 0, "close:size": 0, "close:utf8": 0 };

  /** The participant whose connection the server closed gets a fresh token and reconnects. */
  const reconnect = async (r: Role) => {
    const peer = sides[other(r)];
    const left = () => peer.others.filter((f) => f.type === "peer_left" && f.role === r).length;
    await until(`${other(r)} to see peer_left`, () => left() > reconnections[r]);
    const res = await app.inject({ method: "POST", url: `/v1/calls/${target.id}/signaling-token`, headers: bearer(sides[r].party.token) });
    if (res.statusCode !== 201) throw new Error(`signaling-token: ${res.statusCode} ${res.body}`);
    const joinedBefore = peer.others.filter((f) => f.type === "peer_joined").length;
    const client = await connect(app, res.json().signaling_token);
    sides[r].client = client;
    listen(sides[r], client);
    reconnections[r]++;
    // Frames sent at once, before the server has finished setting the connection up, are queued
    // and then answered like any other.
    for (const early of [j({ type: "toString" }), '{"type":"__proto__","sdp":"x"}', j({ type: "constructor" }), j({ type: "ice_restart" })]) client.send(early);
    expected[r].errors += 3;
    expected[other(r)].relayed.push(j({ type: "ice_restart", from: r }));
    counts.error += 3;
    counts.relay += 1;
    frames += 4;
    await until(`${r} to be welcomed back`, () => client.frames.some((f) => f.type === "peer_joined"));
    await until(`${other(r)} to see peer_joined`, () => peer.others.filter((f) => f.type === "peer_joined").length > joinedBefore);
    await until(`${other(r)} to receive ${r}'s early ice_restart`, () => peer.relayed.length >= expected[other(r)].relayed.length);
    await until(`${r}'s early error frames`, () => sides[r].errors.length >= expected[r].errors);
    check(r);
    check(other(r));
  };

  let bystanderRounds = 0;
  /** The other call on the instance still negotiates: an offer and an answer go through. */
  const bystanderExchanges = async () => {
    const n = ++bystanderRounds;
    bystander.g.send({ type: "offer", sdp: `v=0 bystander ${n}` });
    const offer = await bystander.h.next("offer");
    if (offer.sdp !== `v=0 bystander ${n}` || offer.from !== "guest") throw new Error(`bystander host got ${j(offer)}`);
    bystander.h.send({ type: "answer", sdp: `v=0 answer ${n}` });
    const answer = await bystander.g.next("answer");
    if (answer.sdp !== `v=0 answer ${n}` || answer.from !== "host") throw new Error(`bystander guest got ${j(answer)}`);
  };

  const runBatch = async (sender: Role, batch: Sent[], terminal: Sent | null) => {
    const from = sides[sender];
    const to = other(sender);
    const n = ++sentinel;
    const valid = new Sent(j({ type: "ice_candidate", candidate: { candidate: `sentinel ${n}` } }), false, 1);
    const invalid = new Sent(j({ type: "sentinel", n }), false, 1);
    const all = [...batch, valid, invalid];
    if (all.length + (terminal ? 1 : 0) > MAX_MESSAGES_PER_SECOND) throw new Error("a batch over the per-second limit");
    for (const frame of all) {
      const outcome = frame.outcome;
      counts[outcome]++;
      if (outcome === "relay") expected[to].relayed.push(j({ ...JSON.parse(frame.bytes.toString("utf8")), from: sender }));
      else if (outcome === "error") expected[sender].errors++;
      else throw new Error(`a terminal frame in the middle of a batch: ${frame[fc.toStringMethod]()}`);
    }
    for (const frame of all) send(from.client, frame);
    frames += all.length;
    // The sentinels come last: once both are answered, everything before them was.
    await until(`${to} to receive sentinel ${n}`, () => sides[to].relayed.length >= expected[to].relayed.length);
    await until(() => `${sender}'s error frames (${sides[sender].errors.length} of ${expected[sender].errors})`, () => sides[sender].errors.length >= expected[sender].errors);
    check(to);
    check(sender);
    if (terminal) {
      // Sent once the rest is answered: the close may reset the connection, losing frames in flight.
      counts[terminal.outcome]++;
      frames++;
      send(from.client, terminal);
      const closed = await from.client.closed;
      // docs/signaling.md: over 64 KiB → 4008; a text frame that is not UTF-8 → 1007 (RFC 6455).
      // The server refuses an oversized frame from its header and closes while the client is still
      // sending the rest, so the client may see the connection reset (1006) before the close frame.
      const codes = terminal.outcome === "close:size" ? [4008, 1006] : [1007];
      if (!codes.includes(closed.code)) throw new Error(`${terminal[fc.toStringMethod]()} closed the connection with ${closed.code}, expected ${codes.join(" or ")}`);
      await reconnect(sender);
    } else if (from.client.ws.readyState !== from.client.ws.OPEN) {
      throw new Error(`${sender}'s connection was closed (${j(await from.client.closed)})`);
    }
    // The next batch is counted in a new second of the connection's rate window.
    clock.advance(1000);
  };

  // 1. Every prototype member name as `type`, from each side, in several shapes.
  const named = PROTOTYPE_NAMES.flatMap((name) => [
    j({ type: name }),
    j({ type: name, sdp: "v=0" }),
    j({ type: name, candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host" } }),
    `{"type":${j(name)},"__proto__":{"type":"offer","sdp":"x"}}`,
    `{"type":"offer","sdp":"v=0",${j(name)}:{}}`,
    `{${j(name)}:"offer"}`,
  ]).map((s) => new Sent(s, false, 1));
  for (const sender of ["guest", "host"] as const) {
    for (let i = 0; i < named.length; i += 40) await runBatch(sender, named.slice(i, i + 40), null);
  }
  t.equal(counts.relay, 2 * Math.ceil(named.length / 40), "none of them was relayed (only the sentinels)");
  await bystanderExchanges();

  // 2. Generated batches from either side.
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(batchArb, async ({ sender, frames: batch, large, terminal }) => {
      runs++;
      await runBatch(sender, [...batch, ...large], terminal);
      if (runs % 5 === 0) await bystanderExchanges();
    }),
    { seed: SEED, numRuns: 160, endOnFailure: true },
  );
  await bystanderExchanges();

  t.ok(frames > 3000, `${frames} frames sent (${j(counts)}), ${j(reconnections)} reconnections`);
  t.ok(counts.relay > 300 && counts.error > 2000 && counts["close:size"] >= 2 && counts["close:utf8"] >= 2, "every kind of outcome was exercised");
  check("guest");
  check("host");

  // The target call still negotiates both ways (runBatch checks the relayed frames exactly).
  const relayedBefore = counts.relay;
  await runBatch("guest", [new Sent(j({ type: "offer", sdp: "v=0 after" }), false, 1)], null);
  await runBatch("host", [new Sent(j({ type: "answer", sdp: "v=0 after" }), false, 1)], null);
  t.equal(counts.relay - relayedBefore, 4, "the target call's offer and answer (and sentinels) went through");
  t.match(JSON.parse(sides.host.relayed.at(-2)!), { type: "offer", sdp: "v=0 after", from: "guest" });
  t.match(JSON.parse(sides.guest.relayed.at(-2)!), { type: "answer", sdp: "v=0 after", from: "host" });
  const call = await app.inject({ method: "GET", url: `/v1/calls/${bystander.id}`, headers: bearer(hostB.token) });
  t.equal(call.json().call.status, "active", "the bystander call is still active");
  const health = await fetch(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/health`);
  t.equal(health.status, 200, "the process still serves");
  t.equal(app.services.signaling.size, 4, "four sockets connected: both calls, both sides");
  for (const c of [sides.guest.client, sides.host.client, bystander.g, bystander.h]) c.ws.terminate();
});
