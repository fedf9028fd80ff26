// Lint: a few type-aware rules that catch real bugs in this code (promises nobody awaits, switches
// that miss a case, dead code), not style — there is no formatter. Run with `npm run lint`; the
// type information costs about one `tsc --noEmit` (some 50 s of CPU).
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    ignores: [
      "src/contract/generated/**",
      "src/db/generated/**",
      "dist/**",
      "data/**",
      ".tap/**",
      "coverage/**",
      "scratch/**",
      // They import a client generated at test time; test/sdk/clients.test.ts type-checks them there.
      "test/sdk/*-driver.ts",
    ],
  },
  {
    files: ["**/*.ts", "**/*.mjs"],
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: {
        // Node's globals; the code runs on nothing else.
        process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly",
        setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly",
        clearInterval: "readonly", setImmediate: "readonly", clearImmediate: "readonly",
        AbortController: "readonly", AbortSignal: "readonly", TextEncoder: "readonly",
        TextDecoder: "readonly", structuredClone: "readonly", fetch: "readonly",
        queueMicrotask: "readonly", performance: "readonly",
      },
    },
    rules: {
      // `== null` is the idiom for "null or undefined"; every other comparison is strict.
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      // TypeScript already reports these, with the types in hand.
      "no-undef": "off",
      "no-redeclare": "off",
      "no-unused-vars": "off",
      "@typescript-eslint/no-floating-promises": [
        "error",
        // tap queues a subtest and waits for it before the parent ends; `t.test(...)` needs no await.
        { allowForKnownSafeCalls: [{ from: "package", package: "@tapjs/test", name: "test" }] },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      // Promise.all over cached values and fresh promises is how a cache reuses what it already has.
      "@typescript-eslint/await-thenable": ["error", { allowMixedPromiseArrays: true }],
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        // A `default` is a deliberate catch-all (many error codes onto a few V-app types); a switch
        // without one must name every member of its union.
        { considerDefaultExhaustiveForUnions: true },
      ],
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          // `const { secret: _, ...rest } = x` drops a field on purpose.
          ignoreRestSiblings: true,
        },
      ],
      // `import { x, type Y }`: with verbatimModuleSyntax a type-only import must say so, and the
      // next rule keeps `import { type Y }` (which still loads the module) from standing alone.
      "@typescript-eslint/consistent-type-imports": [
        "error",
        // `typeof import("sharp")` types a module that is loaded lazily, by `await import()`.
        { fixStyle: "inline-type-imports", disallowTypeAnnotations: false },
      ],
      "@typescript-eslint/no-import-type-side-effects": "error",
    },
  },
  // The layers (docs/architecture.md): the domain knows no HTTP and no adapter; an adapter knows
  // the domain only through the port it implements.
  {
    files: ["src/domain/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/routes/**", "**/plugins/**", "**/http/**", "**/contract/**", "**/adapters/**", "**/services.ts", "**/app.ts"], message: "the domain imports only the domain, its ports and the database" },
            { group: ["fastify", "@fastify/*"], message: "the domain knows no HTTP" },
          ],
        },
      ],
    },
  },
  {
    files: ["src/adapters/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/domain/*.ts"], message: "an adapter knows the domain only through its port (src/domain/ports)" }] },
      ],
    },
  },
);
