// Summarises a V8 .cpuprofile: the functions with the most self time and the most
// inclusive time (each function counted once per sample however deep it recurses).
interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
export interface CpuProfile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const label = (f: Frame) =>
  `${f.functionName || '(anonymous)'} ${f.url
    .replace(/.*node_modules\//, '')
    .replace(/.*\/work\/main\//, '')
    .replace(/^file:\/\//, '')}${f.url ? `:${f.lineNumber + 1}` : ''}`.trim();

export function summarise(p: CpuProfile, top = 15): { totalMs: number; self: string[]; inclusive: string[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const perNode = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    perNode.set(p.samples[i]!, (perNode.get(p.samples[i]!) ?? 0) + dt);
    total += dt;
  }
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, t] of perNode) {
    const k = label(byId.get(id)!.callFrame);
    self.set(k, (self.get(k) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const key = label(byId.get(cur)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + t);
    }
  }
  const fmt = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => !k.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `${((t / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  return { totalMs: total / 1000, self: fmt(self), inclusive: fmt(incl) };
}
