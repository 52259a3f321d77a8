/** @jsxImportSource hono/jsx */
// Transcription A/B: per-provider figures and the agreement matrix (SQL over stored
// attempts), and a picker that lays one job's transcripts side by side, differences marked
// against the job's primary transcript (result.provider).
import type { AbFigures, PickerRow } from '../ab.ts';
import type { Alignment } from '../diff.ts';
import { fmtInt, fmtNum, fmtPct, fmtTime, Table, WindowPicker } from './parts.tsx';

export interface SideBySide {
  jobId: string;
  reference: { provider: string; text: string };
  others: { provider: string; text: string; alignment: Alignment; stored: number | null }[];
  failed: { provider: string; status: string; error: string }[];
}

export function AbPage(props: {
  window: string;
  sample: number;
  figures: AbFigures;
  picker: PickerRow[];
  sbs: SideBySide | null;
}) {
  const f = props.figures;
  const providers = [
    ...new Set([...f.providers.map((p) => p.provider), ...f.agreement.map((a) => a.reference)]),
  ].sort();
  const cell = (p: string, r: string) => f.agreement.find((a) => a.provider === p && a.reference === r);
  return (
    <>
      <WindowPicker action="/ops/ab" value={props.window} extra={{ sample: String(props.sample) }} />
      <p class="muted" id="ab-sample">
        The newest {fmtInt(f.jobs_scanned)} transcription jobs finished in the window
        {f.truncated ? ` — a sample: the window holds more (?sample= up to 5,000 reads more, slower)` : ''}.
      </p>
      <h2>Per provider</h2>
      <Table
        id="ab-providers"
        head={[
          'provider',
          'jobs',
          'completed',
          'failed',
          'skipped',
          'success',
          'p50',
          'p95',
          'RTF',
          'failures',
        ]}
        rows={f.providers.map((p) => [
          p.provider,
          fmtInt(p.jobs),
          fmtInt(p.completed),
          fmtInt(p.failed),
          fmtInt(p.skipped),
          fmtPct(p.success_rate),
          p.p50_ms === null ? '—' : `${fmtInt(p.p50_ms)} ms`,
          p.p95_ms === null ? '—' : `${fmtInt(p.p95_ms)} ms`,
          fmtNum(p.rtf, 3),
          Object.entries(p.failure_categories)
            .map(([k, n]) => `${k} ${n}`)
            .join(', '),
        ])}
        empty="no transcription attempts in this window"
      />
      <p class="muted">RTF: processing seconds per second of audio (below 1 is faster than real time).</p>
      <h2>Agreement (1 − WER)</h2>
      <p class="muted">
        Row: the provider's transcript; column: the reference it is scored against. Mean over jobs (n).
      </p>
      {providers.length === 0 ? (
        <p class="muted">no stored agreement</p>
      ) : (
        <table id="ab-matrix" class="matrix">
          <thead>
            <tr>
              <th>hypothesis \ reference</th>
              {providers.map((r) => (
                <th>{r}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {providers.map((p) => (
              <tr>
                <th>{p}</th>
                {providers.map((r) => {
                  if (p === r) return <td class="diag">—</td>;
                  const c = cell(p, r);
                  return c ? (
                    <td data-cell={`${p}|${r}`} data-value={c.agreement.toFixed(4)}>
                      {fmtPct(c.agreement)} <span class="muted">n={c.pairs}</span>
                    </td>
                  ) : (
                    <td class="muted">—</td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Compare one job</h2>
      <form method="get" action="/ops/ab" class="inline">
        <input type="hidden" name="window" value={props.window} />
        <select name="job" id="job-picker">
          {props.picker.map((p) => (
            <option value={p.id} selected={props.sbs?.jobId === p.id}>
              {`${fmtTime(p.finished_at)} · ${p.owner_ref} · ${p.providers.join(' vs ')}`}
            </option>
          ))}
        </select>{' '}
        <button type="submit">compare</button>
      </form>
      {props.sbs && <SideBySideView s={props.sbs} />}
    </>
  );
}

function SideBySideView(props: { s: SideBySide }) {
  const { s } = props;
  return (
    <section id="sbs">
      <p>
        Job <a href={`/ops/jobs/${s.jobId}`}>{s.jobId}</a>. Differences are against{' '}
        <b>{s.reference.provider}</b>: <del>struck</del> words are missing or replaced, <ins>marked</ins>{' '}
        words are inserted or substituted.
      </p>
      <div class="sbs">
        <div class="col">
          <h3>{s.reference.provider} (reference)</h3>
          <p class="transcript">{s.reference.text}</p>
        </div>
        {s.others.map((o) => (
          <div class="col" data-provider={o.provider}>
            <h3>{o.provider}</h3>
            <p class="figures">
              computed 1 − WER{' '}
              <b
                class="computed"
                data-value={o.alignment.wer === null ? '' : (1 - o.alignment.wer).toFixed(4)}
              >
                {o.alignment.wer === null ? '—' : fmtPct(1 - o.alignment.wer)}
              </b>{' '}
              (S {o.alignment.substitutions}, D {o.alignment.deletions}, I {o.alignment.insertions} of{' '}
              {o.alignment.referenceWords} words) · stored {o.stored === null ? '—' : fmtPct(o.stored)}
              {o.alignment.truncated ? ' · compared the first 1,500 words' : ''}
            </p>
            <p class="transcript">
              {o.alignment.ops.map((op) =>
                op.op === 'equal' ? (
                  <span>{op.hyp} </span>
                ) : op.op === 'substitute' ? (
                  <>
                    <del>{op.ref}</del> <ins>{op.hyp}</ins>{' '}
                  </>
                ) : op.op === 'delete' ? (
                  <>
                    <del>{op.ref}</del>{' '}
                  </>
                ) : (
                  <>
                    <ins>{op.hyp}</ins>{' '}
                  </>
                ),
              )}
            </p>
          </div>
        ))}
        {s.failed.map((f) => (
          <div class="col">
            <h3>{f.provider}</h3>
            <p class="muted">
              {f.status}
              {f.error ? `: ${f.error}` : ''}
            </p>
          </div>
        ))}
      </div>
    </section>
  );
}
