// What a scenario hands back: rows of medians (with the per-run figures behind them),
// ratios measured in the same invocation, and target checks. run.ts prints them as one
// table and saves them as JSON under .bench/ (git-ignored) for docs/BENCHMARKS.md.
import { fmt } from './stats.ts';
import { TARGETS, type TargetKey } from './targets.ts';

export interface Row {
  section: string;
  name: string;
  /** The median (or the ratio of two medians); null when not measured. */
  value: number | null;
  unit: string;
  /** Per-run figures the median was taken over. */
  runs?: number[];
  note?: string;
  /** A check against a target of the issues (lib/targets.ts); `text` is the bound. */
  target?: { key?: TargetKey; text: string; ok: boolean };
}

export interface ScenarioResult {
  rows: Row[];
  /** Free text for the report (profiles, settings used, why something was skipped). */
  notes: string[];
}

export const row = (
  section: string,
  name: string,
  value: number | null,
  unit: string,
  extra: Partial<Pick<Row, 'runs' | 'note' | 'target'>> = {},
): Row => ({ section, name, value, unit, ...extra });

type Verdict = 'MET' | 'MISSED' | 'NOT MEASURED';

/** A row's verdict: a figure that could not be measured (null, NaN) is neither met nor missed. */
export function verdict(r: Row): Verdict | null {
  if (!r.target) return null;
  if (r.value === null || Number.isNaN(r.value)) return 'NOT MEASURED';
  return r.target.ok ? 'MET' : 'MISSED';
}

export function printTable(rows: readonly Row[], out: (s: string) => void = console.log): void {
  const head = ['section', 'case', 'median', 'unit', 'runs', 'target'];
  const body = rows.map((r) => [
    r.section,
    r.name,
    fmt(r.value),
    r.unit,
    r.runs ? r.runs.map((x) => fmt(x)).join(' / ') : '',
    r.target ? `${verdict(r)} (${r.target.text})` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  out(line(head));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  let last = '';
  for (const [i, b] of body.entries()) {
    if (rows[i]!.section !== last && last !== '') out('');
    last = rows[i]!.section;
    out(line(b));
  }
}

/** Markdown version of the same table (pasted into docs/BENCHMARKS.md). */
export function markdownTable(rows: readonly Row[]): string {
  const lines = ['| section | case | median | unit | runs | target |', '|---|---|--:|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${r.section} | ${r.name} | ${fmt(r.value)} | ${r.unit} | ${r.runs ? r.runs.map((x) => fmt(x)).join(' / ') : ''} | ${
        r.target ? `**${verdict(r)!.toLowerCase()}** (${r.target.text})` : ''
      } |`,
    );
  }
  return lines.join('\n');
}

export interface TargetLine {
  key: TargetKey;
  source: string;
  text: string;
  verdict: Verdict;
  /** The rows that checked it (section — case: value, verdict), or why none did. */
  detail: string[];
}

/**
 * One line per target of lib/targets.ts: MET when every row that checks it met its bound,
 * MISSED when one did not, NOT MEASURED (with the reason) when no row checked it.
 */
export function targetSummary(rows: readonly Row[], why: (key: TargetKey) => string): TargetLine[] {
  return (Object.keys(TARGETS) as TargetKey[]).map((key) => {
    const def = TARGETS[key];
    const mine = rows.filter((r) => r.target?.key === key);
    const verdicts = mine.map((r) => verdict(r)!);
    const v: Verdict =
      mine.length === 0 || verdicts.every((x) => x === 'NOT MEASURED')
        ? 'NOT MEASURED'
        : verdicts.includes('MISSED')
          ? 'MISSED'
          : 'MET';
    return {
      key,
      source: def.source,
      text: def.text,
      verdict: v,
      detail: mine.length
        ? mine.map(
            (r) => `${r.section} — ${r.name}: ${fmt(r.value)} ${r.unit} ${verdict(r)} (${r.target!.text})`,
          )
        : [why(key)],
    };
  });
}

export function printTargets(lines: readonly TargetLine[], out: (s: string) => void = console.log): void {
  const counts = (v: Verdict) => lines.filter((l) => l.verdict === v).length;
  out(
    `Targets: ${counts('MET')} met, ${counts('MISSED')} missed, ${counts('NOT MEASURED')} not measured (of ${lines.length})`,
  );
  for (const l of lines) {
    out(`  ${l.verdict.padEnd(12)} [${l.source}] ${l.text}`);
    for (const d of l.detail) out(`      ${d}`);
  }
}
