/** @jsxImportSource hono/jsx */
// Small shared pieces of the console's pages: formatting, folded JSON, server-side SVG
// charts. hono/jsx escapes every interpolated string, so caller data (job inputs,
// owner_ref, error messages) always renders as text.
import type { Child } from 'hono/jsx';

export const fmtInt = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US');

export const fmtNum = (n: number | null | undefined, digits = 2): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits);

export const fmtPct = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : `${(n * 100).toFixed(1)}%`;

export function fmtAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86_400).toFixed(1)}d`;
}

export const fmtTime = (d: Date | string | null | undefined): string =>
  d === null || d === undefined
    ? '—'
    : new Date(d)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');

/** JSON shown folded: a summary line, the pretty-printed document inside <details>. */
export function FoldedJson(props: { label: string; value: unknown; open?: boolean }) {
  const text = JSON.stringify(props.value, null, 2) ?? 'null';
  return (
    <details class="json" open={props.open}>
      <summary>
        {props.label} <span class="muted">({fmtInt(text.length)} chars)</span>
      </summary>
      <pre>{text}</pre>
    </details>
  );
}

export function Table(props: { head: Child[]; rows: Child[][]; empty?: string; id?: string }) {
  if (props.rows.length === 0) return <p class="muted">{props.empty ?? 'nothing here'}</p>;
  return (
    <table id={props.id}>
      <thead>
        <tr>
          {props.head.map((h) => (
            <th>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => (
          <tr>
            {r.map((cell) => (
              <td>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Stacked bars (completed over failed) drawn server-side; one <title> per bar. */
export function BarChart(props: {
  title: string;
  bars: { label: string; completed: number; failed: number }[];
  width?: number;
  height?: number;
}) {
  const W = props.width ?? 360;
  const H = props.height ?? 90;
  const max = Math.max(1, ...props.bars.map((b) => b.completed + b.failed));
  const bw = W / Math.max(1, props.bars.length);
  const scale = (v: number) => (v / max) * (H - 14);
  return (
    <figure class="chart">
      <figcaption>
        {props.title} <span class="muted">(max {fmtInt(max)} per bar)</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={props.title}>
        <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} class="axis" />
        {props.bars.map((b, i) => {
          const hc = scale(b.completed);
          const hf = scale(b.failed);
          const x = i * bw + 1;
          return (
            <g>
              <title>{`${b.label}: ${b.completed} completed, ${b.failed} failed`}</title>
              <rect x={x} y={H - hc} width={Math.max(1, bw - 2)} height={hc} class="ok" />
              <rect x={x} y={H - hc - hf} width={Math.max(1, bw - 2)} height={hf} class="bad" />
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function WindowPicker(props: { action: string; value: string; extra?: Record<string, string> }) {
  const choices = ['1h', '6h', '24h', '7d'];
  return (
    <form method="get" action={props.action} class="inline">
      {Object.entries(props.extra ?? {}).map(([k, v]) => (
        <input type="hidden" name={k} value={v} />
      ))}
      <label>
        window{' '}
        <select name="window">
          {choices.map((w) => (
            <option value={w} selected={w === props.value}>
              {w}
            </option>
          ))}
        </select>
      </label>{' '}
      <button type="submit">show</button>
    </form>
  );
}

/** A POST form carrying the session's CSRF token. */
export function PostForm(props: { action: string; csrf: string; children?: Child; class?: string }) {
  return (
    <form method="post" action={props.action} class={props.class ?? 'inline'}>
      <input type="hidden" name="_csrf" value={props.csrf} />
      {props.children}
    </form>
  );
}
