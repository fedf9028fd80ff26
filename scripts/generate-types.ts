// openapi.yaml → src/contract/generated/api.d.ts (openapi-typescript). The output is committed;
// `--check` fails when it is stale (CI runs it).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const root = fileURLToPath(new URL("..", import.meta.url));
const spec = path.join(root, "openapi.yaml");
const out = path.join(root, "src/contract/generated/api.d.ts");

const header = "// Generated from openapi.yaml by scripts/generate-types.ts (npm run generate). Do not edit.\n\n";
const ast = await openapiTS(new URL(`file://${spec}`), { alphabetize: false, exportType: false });
const text = header + astToString(ast);

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(out, "utf8");
  } catch {}
  if (current !== text) {
    console.error(`${path.relative(root, out)} is stale: run npm run generate and commit the result`);
    process.exit(1);
  }
  console.log("generated types are fresh");
} else {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, text);
  console.log(`wrote ${path.relative(root, out)}`);
}
