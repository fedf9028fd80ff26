// asyncapi.yaml is the signaling contract, and one truth: it is valid AsyncAPI 3; its messages are
// exactly the frames the server accepts and sends, in both directions; each message and field is
// described and illustrated by examples valid against their own schemas; the TypeBox schemas that
// type the frames say the same as its payload schemas; it is served with this deployment as its
// server; and over a real socket, what it allows is relayed and what it refuses is refused.
import t from "tap";
import { Parser } from "@asyncapi/parser";
import { testApp } from "../helpers/app.ts";
import { activeCall, bearer, createLink, makeUser, type Frame } from "../helpers/calls.ts";
import { loadSignalingContract, messagesOf, messageType, payloadValidator, servedDocument } from "../../src/contract/asyncapi.ts";
import { CLIENT_MESSAGE_TYPES, ClientMessage, CloseCode, SERVER_MESSAGE_TYPES, ServerMessage } from "../../src/domain/signaling.ts";

type Json = Record<string, any>;

const { document, dereferenced, clientMessages } = await loadSignalingContract();
const received = messagesOf(dereferenced, "receive");
const sent = messagesOf(dereferenced, "send");
const typesOf = (messages: Json[]) => [...new Set(messages.map(messageType))].sort();

/** The AsyncAPI parser's findings: errors (severity 0), and the rest as warnings. */
async function asyncApiFindings(doc: Json) {
  const diagnostics = await new Parser().validate(JSON.stringify(doc));
  const text = (d: (typeof diagnostics)[number]) => `${d.code} at ${d.path.join(".")}: ${d.message}`;
  return { errors: diagnostics.filter((d) => d.severity === 0).map(text), warnings: diagnostics.filter((d) => d.severity !== 0).map(text) };
}

t.test("asyncapi.yaml is a valid AsyncAPI 3.0 document", async (t) => {
  t.equal(document.asyncapi, "3.0.0");
  const { errors, warnings } = await asyncApiFindings(document);
  t.same(errors, [], "no errors");
  for (const w of warnings) t.comment(`warning: ${w}`);
});

t.test("its messages are the frames the server accepts and sends, in both directions", async (t) => {
  t.same(typesOf(received), [...CLIENT_MESSAGE_TYPES].sort(), "client → server: the types of ClientMessage, which the hub relays");
  t.same([...clientMessages.keys()].sort(), typesOf(received), "one validator per client message");
  t.same(typesOf(sent), [...SERVER_MESSAGE_TYPES].sort(), "server → client: the types of ServerMessage, every frame the hub sends");
  const byNumber = (a: number, b: number) => a - b;
  const closeCodes = Object.keys(dereferenced.channels.signaling["x-close-codes"]).map(Number).sort(byNumber);
  t.same(closeCodes, Object.values(CloseCode).sort(byNumber), "x-close-codes describes each CloseCode, and only those");
});

t.test("every message and field is described, with examples valid against its payload schema", async (t) => {
  for (const [name, message] of Object.entries(dereferenced.components.messages as Record<string, Json>)) {
    t.ok(message.description, `${name} has a description`);
    const undescribed: string[] = [];
    const walk = (schema: Json, at: string) => {
      for (const [field, sub] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
        if (!sub.description) undescribed.push(`${at}${field}`);
        walk(sub, `${at}${field}.`);
      }
    };
    walk(message.payload, "");
    t.same(undescribed, [], `${name}: every payload field has a description`);
    const validate = payloadValidator(message.payload);
    t.ok(message.examples?.length >= 1, `${name} has an example`);
    for (const example of message.examples ?? []) {
      t.ok(validate(example.payload), `${name}: example "${example.name}" is valid${validate.errors ? ` (${JSON.stringify(validate.errors[0])})` : ""}`);
    }
  }
});

// Keywords that do not change what a schema accepts.
const ANNOTATIONS = new Set(["description", "title", "examples", "example", "$comment", "default", "readOnly", "writeOnly", "deprecated"]);
function validationOnly(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(validationOnly);
  if (!schema || typeof schema !== "object") return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    if (ANNOTATIONS.has(k) || k.startsWith("x-")) continue;
    // `properties` maps names (any name, "description" included) to schemas.
    if (k === "properties") out[k] = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, validationOnly(s)]));
    else if (k === "required") out[k] = [...(v as string[])].sort();
    else out[k] = validationOnly(v);
  }
  return out;
}

t.test("the TypeBox schemas that type the frames are the document's payload schemas", async (t) => {
  for (const [direction, messages, union] of [
    ["client → server", received, ClientMessage],
    ["server → client", sent, ServerMessage],
  ] as const) {
    const typeBox = new Map<string, unknown>(union.anyOf.map((s) => [(s.properties as Json).type.const, JSON.parse(JSON.stringify(s))]));
    t.same([...typeBox.keys()].sort(), typesOf(messages), `${direction}: the same types`);
    for (const message of messages) {
      t.same(validationOnly(message.payload), validationOnly(typeBox.get(messageType(message)!)), `${direction}: ${message.name}`);
    }
  }
});

t.test("the served document (GET /v1/asyncapi.json) names this deployment as its server", async (t) => {
  const { app } = await testApp(t, { env: { PUBLIC_URL: "https://api.example.org/" } });
  const res = await app.inject({ method: "GET", url: "/v1/asyncapi.json" });
  t.equal(res.statusCode, 200);
  t.equal(res.headers["content-type"], "application/json; charset=utf-8");
  t.equal(res.headers["cache-control"], "public, max-age=300");
  const { servers, ...rest } = res.json();
  const { servers: asWrittenServers, ...asWritten } = document;
  t.same(rest, asWritten, "everything else as written");
  t.same(servers, { deployment: { ...asWrittenServers.local, host: "api.example.org", protocol: "wss", title: "This deployment", description: "This deployment (PUBLIC_URL)." } }, "the wss form of PUBLIC_URL");
  t.same((await asyncApiFindings(res.json())).errors, [], "and it is valid AsyncAPI");

  const serverOf = (publicUrl: string) => Object.values(servedDocument(document, publicUrl).servers as Json)[0];
  t.match(serverOf("http://localhost:3000"), { host: "localhost:3000", protocol: "ws" });
  t.notOk("pathname" in serverOf("http://localhost:3000"), "no pathname at the root");
  t.match(serverOf("https://example.org/vidivo"), { host: "example.org", protocol: "wss", pathname: "/vidivo" }, "behind a path prefix");
});

t.test("over a real socket: what the document allows is relayed, what it refuses is refused", async (t) => {
  const { app } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app, "host");
  const { g, h, guest, id } = await activeCall(app, host, (await createLink(app, host)).short_code);

  for (const message of received) {
    for (const { payload } of message.examples) {
      g.send(payload);
      t.same(await h.next(payload.type), { ...payload, from: "guest" }, `${message.name}: relayed with from`);
      g.send({ ...payload, unexpected: true });
      t.match(await g.next("error"), { code: "invalid_message", message: /\/unexpected: / }, `${message.name} with a field the document does not declare: refused, the field named`);
    }
  }
  g.send({ type: "welcome" });
  t.match(await g.next("error"), { code: "invalid_message", message: /unknown message type/ }, "a type the document has only server → client: refused");
  g.send({ type: "ice_restart" }); // relayed in order: once it is through, so is everything before it
  await h.next("ice_restart");
  t.equal(h.frames.filter((f) => "from" in f).length, received.flatMap((m) => m.examples).length + 1, "only the valid frames were relayed");

  await app.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
  await g.next("call_ended");
  await h.next("call_ended");
  // Every frame either participant received is one of the document's server → client messages.
  const validators = sent.map((m) => ({ type: messageType(m), validate: payloadValidator(m.payload) }));
  const undocumented = (f: Frame) => !validators.some((v) => v.type === f.type && v.validate(f));
  t.same([...g.frames, ...h.frames].filter(undocumented), [], "every frame the server sent matches the document");
  const covered = new Set([...g.frames, ...h.frames].map((f) => f.type));
  t.same(SERVER_MESSAGE_TYPES.filter((type) => !covered.has(type)), ["peer_left"], "(frames of every type but peer_left were checked)");
});
