// After `tsc`, put the files the compiled server reads at run time beside it in dist/.
import { cpSync } from "node:fs";

cpSync("openapi.yaml", "dist/openapi.yaml");
cpSync("prisma/migrations", "dist/prisma/migrations", { recursive: true });
console.log("copied openapi.yaml and prisma/migrations into dist/");
