// Summarises a V8 CPU profile (node --cpu-prof): self time by package (node_modules/<name>, the
// project's own files, node internals) and the top functions by self time.
//   tsx scripts/bench/profile.ts <file.cpuprofile> [--top 25]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "25" }, inclusive: { type: "boolean", default: false } } });
const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (url: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.includes("/src/") || url.includes("/dist/")) return "(project)";
  return url ? "(node)" : "(native/gc/idle)";
};
const byPkg = new Map<string, number>();
const byFn = new Map<string, number>();
for (const n of profile.nodes) {
  const t = self.get(n.id) ?? 0;
  if (!t) continue;
  const pkg = where(n.callFrame.url);
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t);
  const fn = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/.*node_modules\//, "").replace(/.*\/(src|dist)\//, "$1/")}:${n.callFrame.lineNumber}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + t);
}
const pct = (t: number) => ((100 * t) / total).toFixed(1).padStart(5) + " %";
console.log(`total ${(total / 1e6).toFixed(2)} s sampled\n\nby package:`);
for (const [k, t] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(t)}  ${k}`);
console.log(`\ntop functions (self):`);
for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${pct(t)}  ${k}`);

// Inclusive time: a function's own samples plus its callees', to find the call that costs.
if (process.argv.includes("--inclusive")) {
  const full = JSON.parse(readFileSync(positionals[0]!, "utf8")) as { nodes: (Node & { children?: number[] })[] };
  const byId = new Map(full.nodes.map((n) => [n.id, n]));
  const incl = new Map<number, number>();
  const walk = (id: number): number => {
    const n = byId.get(id)!;
    let t = self.get(id) ?? 0;
    for (const c of n.children ?? []) t += walk(c);
    incl.set(id, t);
    return t;
  };
  walk(full.nodes[0]!.id);
  const byName = new Map<string, number>();
  for (const n of full.nodes) {
    const k = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/.*node_modules\//, "").replace(/.*\/(src|dist)\//, "$1/")}:${n.callFrame.lineNumber}`;
    // a recursive function counts once: only its outermost frames are added
    byName.set(k, Math.max(byName.get(k) ?? 0, 0) + (incl.get(n.id) ?? 0));
  }
  console.log(`\ntop functions (inclusive):`);
  for (const [k, t] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${pct(t)}  ${k}`);
}
