// The web client's scripts and stylesheet (src/web/client), bundled by esbuild. `npm run build`
// writes them once into dist (beside the compiled server, which then serves those files); a server
// run from source (`npm start`) bundles them in memory when a page is first asked for. Each file's
// name carries a hash of its content, so that it can be cached for good.
import { existsSync } from "node:fs";
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** What a page names: its script and the stylesheet, as URLs under /app/. */
export interface PageAssets {
  script: string;
  stylesheet: string;
}

export interface WebAsset {
  /** Text: a script or the stylesheet. */
  body: string;
  contentType: "text/javascript; charset=utf-8" | "text/css; charset=utf-8";
}

export interface WebAssets {
  guest: PageAssets;
  host: PageAssets;
  /** By file name (the last segment of /app/{file}). */
  files: Map<string, WebAsset>;
}

/** The URL prefix the assets are served under (getWebAsset). */
export const ASSET_PREFIX = "/app/";
const MANIFEST = "manifest.json";
const ENTRIES = { guest: "guest.ts", host: "host.ts", styles: "styles.css" } as const;
/** The client's sources, when this module runs from source (the compiled one is given them). */
const CLIENT_DIR = fileURLToPath(new URL("./client/", import.meta.url));
/** Where `npm run build` puts the bundle: dist/src/web/bundle, beside this module compiled. */
const BUILT_DIR = fileURLToPath(new URL("./bundle/", import.meta.url));

type Manifest = { guest: string; host: string; styles: string };

function contentTypeOf(name: string): WebAsset["contentType"] {
  return name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
}

function assembled(manifest: Manifest, files: Map<string, WebAsset>): WebAssets {
  const stylesheet = ASSET_PREFIX + manifest.styles;
  return {
    guest: { script: ASSET_PREFIX + manifest.guest, stylesheet },
    host: { script: ASSET_PREFIX + manifest.host, stylesheet },
    files,
  };
}

/**
 * Bundles the client: one ES module per page (with what it imports: the generated API client, the
 * call view) and the stylesheet, minified (their sources are src/web/client). `outdir`: written
 * there with a manifest; otherwise kept in memory.
 */
async function bundleWebAssets(sources: string, outdir?: string): Promise<WebAssets> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    absWorkingDir: sources,
    entryPoints: ENTRIES,
    bundle: true,
    format: "esm",
    minify: true,
    // Browsers of the last few years: WebRTC's promise API and ES2022 both need nothing older.
    target: ["chrome111", "firefox111", "safari16.4"],
    entryNames: "[name]-[hash]",
    outdir: outdir ?? join(sources, "out"),
    write: outdir !== undefined,
    metafile: true,
    logLevel: "silent",
    legalComments: "none",
  });
  const manifest = {} as Manifest;
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    const entry = Object.entries(ENTRIES).find(([, file]) => meta.entryPoint?.endsWith(file));
    if (entry) manifest[entry[0] as keyof Manifest] = basename(output);
  }
  const files = new Map<string, WebAsset>();
  if (outdir === undefined) {
    for (const file of result.outputFiles ?? []) {
      const name = basename(file.path);
      files.set(name, { body: file.text, contentType: contentTypeOf(name) });
    }
  } else {
    await writeFile(join(outdir, MANIFEST), JSON.stringify(manifest));
  }
  return assembled(manifest, files);
}

/** The bundle `npm run build` wrote (dist), read into memory. */
async function readBuilt(dir: string): Promise<WebAssets> {
  const manifest = JSON.parse(await readFile(join(dir, MANIFEST), "utf8")) as Manifest;
  const files = new Map<string, WebAsset>();
  for (const name of await readdir(dir)) {
    if (name !== MANIFEST) files.set(name, { body: await readFile(join(dir, name), "utf8"), contentType: contentTypeOf(name) });
  }
  return assembled(manifest, files);
}

/** `npm run build`: the client in `sources` bundled into dist/src/web/bundle (replacing an older one). */
export async function writeWebAssets(sources: string): Promise<void> {
  await rm(BUILT_DIR, { recursive: true, force: true });
  await bundleWebAssets(resolve(sources), BUILT_DIR);
}

/** Why the client can be neither read nor bundled here (a compiled server built without it), or null. */
export function webClientMissing(): string | null {
  if (existsSync(join(BUILT_DIR, MANIFEST)) || existsSync(join(CLIENT_DIR, ENTRIES.guest))) return null;
  return `the web client is not built: no ${join(BUILT_DIR, MANIFEST)} (npm run build writes it)`;
}

let loaded: Promise<WebAssets> | undefined;

/** The assets, read or bundled once per process (every app instance in it serves the same). */
export function webAssets(): Promise<WebAssets> {
  if (!loaded) {
    loaded = existsSync(join(BUILT_DIR, MANIFEST)) ? readBuilt(BUILT_DIR) : bundleWebAssets(CLIENT_DIR);
    // A failed bundle (a syntax error while editing the client) is tried again at the next request.
    loaded.catch(() => (loaded = undefined));
  }
  return loaded;
}
