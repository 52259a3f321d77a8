// What a scenario hands back: rows of medians (with the per-run figures behind them),
// ratios measured in the same invocation, and target checks. run.ts prints them as one
// table and saves them as JSON under .bench/ (git-ignored) for docs/BENCHMARKS.md.
import { fmt } from './stats.ts';

export interface Row {
  section: string;
  name: string;
  /** The median (or the ratio of two medians); null when not measured. */
  value: number | null;
  unit: string;
  /** Per-run figures the median was taken over. */
  runs?: number[];
  note?: string;
  target?: { text: string; ok: boolean };
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

export function printTable(rows: readonly Row[], out: (s: string) => void = console.log): void {
  const head = ['section', 'case', 'median', 'unit', 'runs', 'target'];
  const body = rows.map((r) => [
    r.section,
    r.name,
    fmt(r.value),
    r.unit,
    r.runs ? r.runs.map((x) => fmt(x)).join(' / ') : '',
    r.target ? `${r.target.ok ? 'MET' : 'MISSED'} (${r.target.text})` : '',
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
        r.target ? `${r.target.ok ? '**met**' : '**missed**'} (${r.target.text})` : ''
      } |`,
    );
  }
  return lines.join('\n');
}
