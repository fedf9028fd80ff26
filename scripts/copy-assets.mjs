// After `tsc`, put the files the compiled server reads at run time beside it in dist/.
import { cpSync } from "node:fs";

cpSync("openapi.yaml", "dist/openapi.yaml");
cpSync("prisma/migrations", "dist/prisma/migrations", { recursive: true });
console.log("copied openapi.yaml and prisma/migrations into dist/");

// What the compiled server would otherwise make at every start (the parse of openapi.yaml) or at
// the first (a migrated embedded database): see src/contract/spec.ts and src/db/client.ts.
const { writeParsedSpec } = await import("../dist/src/contract/spec.js");
await writeParsedSpec();
const { writePgliteTemplate } = await import("../dist/src/db/pglite.js");
await writePgliteTemplate();
console.log("wrote dist/openapi.yaml.json and dist/pglite-template/");
