// Prints where a .cpuprofile spent its time: top functions by self time, and by package/file.
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const file = process.argv[2];
if (!file) throw new Error("usage: tsx bench/tools/summarize-cpu-profile.ts FILE.cpuprofile [top] [from-s] [to-s]");
const top = Number(process.argv[3] ?? 25);
// Optional window, in seconds from the profile's start: only samples taken in [from, to).
const from = Number(process.argv[4] ?? 0) * 1e6;
const to = process.argv[5] ? Number(process.argv[5]) * 1e6 : Infinity;
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<number, number>();
let clock = 0;
profile.samples.forEach((id, i) => {
  clock += profile.timeDeltas[i] ?? 0;
  if (clock >= from && clock < to) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map<string, number>();
const area = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const short = url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(dist|src)\//, "$1/");
  fn.set(`${functionName || "(anonymous)"} ${short}:${lineNumber + 1}`, (fn.get(`${functionName || "(anonymous)"} ${short}:${lineNumber + 1}`) ?? 0) + us);
  const key = url ? (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith("node:") ? "node core" : short.split("/").slice(0, 3).join("/"))) : functionName;
  area.set(key, (area.get(key) ?? 0) + us);
}
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
print("by package / area", area);
print("by function (self)", fn);
