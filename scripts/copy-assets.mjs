// After `tsc`, put the files the compiled server reads at run time beside it in dist/.
import { cpSync } from "node:fs";

cpSync("openapi.yaml", "dist/openapi.yaml");
cpSync("asyncapi.yaml", "dist/asyncapi.yaml");
cpSync("prisma/migrations", "dist/prisma/migrations", { recursive: true });
console.log("copied openapi.yaml, asyncapi.yaml and prisma/migrations into dist/");

// What the compiled server would otherwise make at every start (the parse of the two documents) or
// at the first (a migrated embedded database): see src/contract/spec.ts and src/db/client.ts.
const { SPEC_PATH, writeParsedDocument } = await import("../dist/src/contract/spec.js");
const { ASYNCAPI_PATH } = await import("../dist/src/contract/asyncapi.js");
await writeParsedDocument(SPEC_PATH);
await writeParsedDocument(ASYNCAPI_PATH);
const { writePgliteTemplate } = await import("../dist/src/db/pglite.js");
await writePgliteTemplate();
console.log("wrote dist/openapi.yaml.json, dist/asyncapi.yaml.json and dist/pglite-template/");

// The web client's scripts and stylesheet, bundled once (src/web/assets.ts).
const { writeWebAssets } = await import("../dist/src/web/assets.js");
await writeWebAssets("src/web/client");
console.log("bundled src/web/client into dist/src/web/bundle/");
