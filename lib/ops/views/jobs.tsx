/** @jsxImportSource hono/jsx */
// Jobs: the API's list filters as a form, keyset paging, and one job in full.
import { FAILURE_CATEGORIES } from '../../jobs/categories.ts';
import type { JobRow } from '../../jobs/row.ts';
import { JOB_STATUSES } from '../../jobs/transitions.ts';
import { FoldedJson, fmtInt, fmtTime, PostForm, Table } from './parts.tsx';

export type FilterValues = Record<string, string[]>;

const text = (name: string, v: FilterValues, placeholder = '') => (
  <label>
    {name}
    <input type="text" name={name} value={(v[name] ?? []).join(',')} placeholder={placeholder} />
  </label>
);

export function JobsList(props: {
  values: FilterValues;
  jobs: JobRow[];
  nextHref: string | null;
  error: string | null;
}) {
  const v = props.values;
  return (
    <>
      <form method="get" action="/ops/jobs" class="filters" id="filters">
        <fieldset>
          <legend>status</legend>
          {JOB_STATUSES.map((s) => (
            <label class="check">
              <input type="checkbox" name="status" value={s} checked={(v['status'] ?? []).includes(s)} /> {s}
            </label>
          ))}
        </fieldset>
        {text('owner_service', v)}
        {text('owner_ref', v)}
        {text('task_type', v, 'a,b')}
        {text('model_profile', v, 'a,b')}
        {text('worker_id', v)}
        <label>
          error_category
          <select name="error_category" multiple size={4}>
            {FAILURE_CATEGORIES.map((c) => (
              <option value={c} selected={(v['error_category'] ?? []).includes(c)}>
                {c}
              </option>
            ))}
          </select>
        </label>
        {text('created_after', v, '2026-01-01T00:00:00Z')}
        {text('created_before', v, '2026-01-01T00:00:00Z')}
        {text('ids', v, 'uuid,uuid')}
        {text('limit', v, '50')}
        <button type="submit">filter</button> <a href="/ops/jobs">clear</a>
      </form>
      {props.error && (
        <p class="error" id="filter-error">
          {props.error}
        </p>
      )}
      <Table
        id="jobs"
        head={['id', 'status', 'owner', 'task_type', 'model_profile', 'created', 'attempts', 'error']}
        rows={props.jobs.map((j) => [
          <a href={`/ops/jobs/${j.id}`}>{j.id}</a>,
          <span class={`st st-${j.status}`}>{j.status}</span>,
          `${j.owner_service} / ${j.owner_ref}`,
          j.task_type,
          j.model_profile,
          fmtTime(j.created_at),
          `${j.attempts}/${j.max_attempts}`,
          j.error_category ?? '',
        ])}
        empty="no jobs match"
      />
      {props.nextHref && (
        <p>
          <a href={props.nextHref} id="next-page">
            next page →
          </a>
        </p>
      )}
    </>
  );
}

const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

export function JobDetail(props: { job: JobRow; csrf: string; now: number }) {
  const j = props.job;
  const result = obj(j.result);
  const attempts = Array.isArray(result?.['attempts']) ? (result['attempts'] as unknown[]).map(obj) : [];
  const ms = (a: Date | null, b: Date | null) =>
    a && b ? `${fmtInt(new Date(b).getTime() - new Date(a).getTime())} ms` : '—';
  const rows: [string, string][] = [
    ['status', j.status],
    ['owner', `${j.owner_service} / ${j.owner_ref}`],
    ['task_type / model_profile', `${j.task_type} / ${j.model_profile}`],
    ['priority', String(j.priority)],
    ['attempts', `${j.attempts} of ${j.max_attempts}`],
    ['idempotency_key', j.idempotency_key ?? '—'],
    ['created', fmtTime(j.created_at)],
    ['run after', fmtTime(j.run_after)],
    ['started', fmtTime(j.started_at)],
    ['finished', fmtTime(j.finished_at)],
    ['queued → started', ms(j.created_at, j.started_at)],
    ['duration', j.duration_ms === null ? '—' : `${fmtInt(j.duration_ms)} ms`],
    ['updated', fmtTime(j.updated_at)],
    ['worker', j.worker_id ?? '—'],
    [
      'lease',
      j.lease_expires_at
        ? `expires ${fmtTime(j.lease_expires_at)}${new Date(j.lease_expires_at).getTime() < props.now ? ' (EXPIRED)' : ''}`
        : '—',
    ],
  ];
  const canRetry = j.status === 'failed' || j.status === 'running';
  const canCancel = j.status === 'pending' || j.status === 'running';
  const filter = JSON.stringify({ ids: [j.id] });
  return (
    <>
      <table class="kv" id="job">
        <tbody>
          {rows.map(([k, v]) => (
            <tr>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {(j.error_category || j.error_message) && (
        <section class="errbox" id="job-error">
          <b>{j.error_category ?? 'error'}</b>: {j.error_message ?? ''}
        </section>
      )}
      <p>
        {canRetry && (
          <PostForm action="/ops/actions" csrf={props.csrf}>
            <input type="hidden" name="action" value="retry" />
            <input type="hidden" name="step" value="preview" />
            <input type="hidden" name="filter" value={filter} />
            <button type="submit">retry this job…</button>
          </PostForm>
        )}{' '}
        {canCancel && (
          <PostForm action="/ops/actions" csrf={props.csrf}>
            <input type="hidden" name="action" value="cancel" />
            <input type="hidden" name="step" value="preview" />
            <input type="hidden" name="filter" value={filter} />
            <button type="submit">cancel this job…</button>
          </PostForm>
        )}
      </p>
      {attempts.length > 0 && (
        <>
          <h2>Attempts</h2>
          <Table
            id="attempts"
            head={['provider', 'model', 'status', 'duration', 'audio s', 'rtf', 'words', 'error']}
            rows={attempts.map((a) => {
              const err = obj(a?.['error']);
              return [
                String(a?.['provider'] ?? '?'),
                String(a?.['model'] ?? ''),
                String(a?.['status'] ?? ''),
                a?.['duration_ms'] === undefined ? '—' : `${fmtInt(Number(a['duration_ms']))} ms`,
                a?.['audio_duration_sec'] === undefined ? '—' : String(a['audio_duration_sec']),
                a?.['rtf'] === undefined ? '—' : String(a['rtf']),
                a?.['word_count'] === undefined ? '—' : String(a['word_count']),
                err ? `${String(err['category'])}: ${String(err['message'])}` : '',
              ];
            })}
          />
          {j.task_type === 'transcribe' && (
            <p>
              <a href={`/ops/ab?job=${j.id}`}>compare transcripts side by side →</a>
            </p>
          )}
        </>
      )}
      <h2>Input and result</h2>
      <FoldedJson label="input" value={j.input} />
      <FoldedJson label="result" value={j.result} />
      <p class="muted">
        History: the table keeps a job's current state only (no per-transition log); the timings above are its
        milestones.
      </p>
    </>
  );
}
