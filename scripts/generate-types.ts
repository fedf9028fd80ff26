// openapi.yaml → src/contract/generated/api.d.ts (openapi-typescript, plus `operationSecurity`,
// which openapi-typescript leaves out). The output is committed; `--check` fails when it is stale
// (CI runs it).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import YAML from "yaml";

const root = fileURLToPath(new URL("..", import.meta.url));
const spec = path.join(root, "openapi.yaml");
const out = path.join(root, "src/contract/generated/api.d.ts");

const header = "// Generated from openapi.yaml by scripts/generate-types.ts (npm run generate). Do not edit.\n\n";
const ast = await openapiTS(new URL(`file://${spec}`), { alphabetize: false, exportType: false });

/** Each operation's security schemes (any one is enough); `never` for a public operation. */
function operationSecurity(doc: { paths?: Record<string, Record<string, { operationId?: string; security?: Record<string, unknown>[] }>> }): string {
  const lines: string[] = [];
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item)) {
      if (!op || typeof op !== "object" || typeof op.operationId !== "string") continue;
      const schemes = [...new Set((op.security ?? []).flatMap((alternative) => Object.keys(alternative)))];
      lines.push(`    ${op.operationId}: ${schemes.length ? schemes.map((s) => JSON.stringify(s)).join(" | ") : "never"};`);
    }
  }
  return `\n/** The security schemes each operation accepts (any one is enough); never: public. */\nexport interface operationSecurity {\n${lines.join("\n")}\n}\n`;
}

const text = header + astToString(ast) + operationSecurity(YAML.parse(readFileSync(spec, "utf8")));

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(out, "utf8");
  } catch {
    // Never generated: as stale as an old copy.
  }
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
