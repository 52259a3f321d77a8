/** @jsxImportSource hono/jsx */
// Usage per owner_service × model_profile over a window (same figures as GET /api/v1/usage).
import type { UsageRow } from '../../jobs/usage.ts';
import { fmtInt, fmtNum, Table, WindowPicker } from './parts.tsx';

export function UsagePage(props: { window: string; rows: UsageRow[]; since: string; until: string }) {
  const total = props.rows.reduce(
    (t, r) => ({
      jobs: t.jobs + r.jobs,
      prompt: t.prompt + r.prompt_tokens,
      completion: t.completion + r.completion_tokens,
      audio: t.audio + r.audio_seconds,
      busy: t.busy + r.busy_seconds,
    }),
    { jobs: 0, prompt: 0, completion: 0, audio: 0, busy: 0 },
  );
  return (
    <>
      <WindowPicker action="/ops/usage" value={props.window} />
      <p class="muted">
        Jobs finished (completed or failed) from {props.since} to {props.until}. Also as{' '}
        <code>GET /api/v1/usage?window={props.window}</code> and as Prometheus counters{' '}
        <code>ai_usage_*_total{'{owner_service,model_profile}'}</code>.
      </p>
      <Table
        id="usage"
        head={[
          'owner_service',
          'model_profile',
          'jobs',
          'failed',
          'prompt tokens',
          'completion tokens',
          'audio s',
          'busy s',
        ]}
        rows={[
          ...props.rows.map((r) => [
            r.owner_service,
            r.model_profile,
            fmtInt(r.jobs),
            fmtInt(r.failed),
            fmtInt(r.prompt_tokens),
            fmtInt(r.completion_tokens),
            fmtNum(r.audio_seconds, 1),
            fmtNum(r.busy_seconds, 1),
          ]),
          ...(props.rows.length > 1
            ? [
                [
                  <b>total</b>,
                  '',
                  fmtInt(total.jobs),
                  '',
                  fmtInt(total.prompt),
                  fmtInt(total.completion),
                  fmtNum(total.audio, 1),
                  fmtNum(total.busy, 1),
                ],
              ]
            : []),
        ]}
        empty="no finished jobs in this window"
      />
    </>
  );
}
