/** @jsxImportSource hono/jsx */
// Overview: the live part (#live) is re-fetched by ops.js every few seconds as an HTML
// fragment (?fragment=1) and swapped in place, so the page refreshes without a reload.
import type { InfraStatus } from '../../infra/status.ts';
import type { Stats } from '../../jobs/stats.ts';
import type { ProviderProbe } from '../../providers/probe.ts';
import type { BacklogRow, Bucket, ExpiredLease, WorkerRow } from '../overview.ts';
import { BarChart, fmtAge, fmtInt, fmtTime, Table } from './parts.tsx';

export interface OverviewData {
  now: number;
  stats: Stats;
  backlog: BacklogRow[];
  hour: Bucket[];
  day: Bucket[];
  workers: WorkerRow[];
  expired: ExpiredLease[];
  providers: ProviderProbe[] | null;
  infra: InfraStatus;
}

const jobLink = (id: string) => <a href={`/ops/jobs/${id}`}>{id}</a>;
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export function OverviewLive(props: { d: OverviewData }) {
  const { d } = props;
  const q = d.stats.queue;
  return (
    <div id="live" data-refresh="5000" data-updated={new Date(d.now).toISOString()}>
      <p class="muted">updated {fmtTime(new Date(d.now))} · refreshes every 5 s</p>
      <section class="tiles">
        <div class="tile">
          <b id="q-pending">{fmtInt(q.pending)}</b> pending
        </div>
        <div class="tile">
          <b>{fmtInt(q.pending_ready)}</b> ready
        </div>
        <div class="tile">
          <b>{fmtInt(q.running)}</b> running
        </div>
        <div class={q.expired_leases ? 'tile warn' : 'tile'}>
          <b>{fmtInt(q.expired_leases)}</b> expired leases
        </div>
        <div class="tile">
          <b>{fmtAge(q.oldest_pending_age_ms)}</b> oldest ready
        </div>
        <div class="tile">
          <b>{fmtInt(d.stats.finished.completed)}</b> completed / <b>{fmtInt(d.stats.finished.failed)}</b>{' '}
          failed (1 h)
        </div>
      </section>

      <h2>Backlog by task type × model profile</h2>
      <Table
        id="backlog"
        head={['task_type', 'model_profile', 'pending', 'ready', 'running', 'oldest ready']}
        rows={d.backlog.map((b) => [
          <a href={`/ops/jobs?task_type=${encodeURIComponent(b.task_type)}&status=pending`}>{b.task_type}</a>,
          b.model_profile,
          fmtInt(b.pending),
          fmtInt(b.ready),
          fmtInt(b.running),
          fmtAge(b.oldest_pending_age_ms),
        ])}
        empty="no pending or running jobs"
      />

      <h2>Throughput</h2>
      <div class="charts">
        <BarChart
          title="last hour, per 5 min"
          bars={d.hour.map((b) => ({ label: hhmm(b.at), completed: b.completed, failed: b.failed }))}
        />
        <BarChart
          title="last day, per hour"
          bars={d.day.map((b) => ({ label: hhmm(b.at), completed: b.completed, failed: b.failed }))}
        />
      </div>
      <p class="legend">
        <span class="sw ok"></span> completed <span class="sw bad"></span> failed
      </p>

      <h2>Errors in the last hour</h2>
      <Table
        head={['category', 'failed', 'retrying']}
        rows={d.stats.errors.map((e) => [
          <a href={`/ops/failures?window=1h#${encodeURIComponent(e.category)}`}>{e.category}</a>,
          fmtInt(e.failed),
          fmtInt(e.retrying),
        ])}
        empty="no errors"
      />

      <h2>Workers</h2>
      <p class="muted">
        Known from the jobs they lease: holding a lease now, or finished a job in the last 10 min.
      </p>
      <Table
        id="workers"
        head={['worker', 'handlers', 'in flight', 'last seen']}
        rows={d.workers.map((w) => [
          <a href={`/ops/jobs?worker_id=${encodeURIComponent(w.worker_id)}`}>{w.worker_id}</a>,
          w.handlers.join(', '),
          fmtInt(w.in_flight),
          `${fmtAge(d.now - new Date(w.last_seen).getTime())} ago`,
        ])}
        empty="no live workers"
      />

      <h2>Expired leases</h2>
      <Table
        id="expired"
        head={['job', 'task_type', 'model_profile', 'worker', 'expired', 'attempts']}
        rows={d.expired.map((l) => [
          jobLink(l.id),
          l.task_type,
          l.model_profile,
          l.worker_id ?? '—',
          `${fmtAge(d.now - new Date(l.lease_expires_at).getTime())} ago`,
          fmtInt(l.attempts),
        ])}
        empty="none — the reaper is keeping up"
      />

      <h2>Providers and infrastructure</h2>
      {d.providers === null ? (
        <p class="muted">provider probes are not available in this deployment</p>
      ) : (
        <Table
          id="providers"
          head={['provider', 'state', 'model', 'latency', 'detail']}
          rows={d.providers.map((p) => [
            p.name,
            !p.configured ? 'not configured' : p.reachable ? 'up' : 'down',
            p.model ?? '—',
            p.latency_ms === null ? '—' : `${p.latency_ms} ms`,
            p.error ?? (p.models ? `serves ${p.models.join(', ')}` : ''),
          ])}
          empty="no providers configured"
        />
      )}
      <Infra infra={d.infra} />
    </div>
  );
}

function Infra(props: { infra: InfraStatus }) {
  const i = props.infra;
  if (!i.configured) return <p class="muted">INFRA_STATUS_URL is not set: no GPU or container telemetry.</p>;
  if (!i.reachable) return <p class="warn">infra sidecar unreachable: {i.error}</p>;
  return (
    <>
      <Table
        head={['GPU', 'util', 'memory', 'temp']}
        rows={i.gpus.map((g) => [
          g.name ?? String(g.index ?? '?'),
          g.utilization_pct === null ? '—' : `${g.utilization_pct}%`,
          `${fmtInt(g.memory_used_mb)} / ${fmtInt(g.memory_total_mb)} MB`,
          g.temperature_c === null ? '—' : `${g.temperature_c} °C`,
        ])}
        empty="no GPUs reported"
      />
      <Table
        head={['service', 'kind', 'state', 'detail']}
        rows={[
          ...i.vllm.map((v) => [
            v.name,
            'vLLM',
            'up',
            `${v.model ?? '?'} · running ${fmtInt(v.requests_running)} · waiting ${fmtInt(v.requests_waiting)}`,
          ]),
          ...i.whisperx.map((w) => [
            w.name,
            'WhisperX',
            w.reachable === false ? 'down' : w.reachable ? 'up' : '?',
            `${w.busy ? 'busy' : 'idle'} · ${fmtInt(w.latency_ms)} ms`,
          ]),
          ...i.containers.map((c) => [
            c.name,
            'container',
            c.status ?? '?',
            `${c.image ?? ''} ${c.health ?? ''}`,
          ]),
        ]}
        empty="no services reported"
      />
    </>
  );
}
