// Prometheus metrics (prom-client) for Node processes: the API adapter and the worker
// both serve GET /metrics from their own registry. Queue depth and the oldest pending
// job are read from PostgreSQL at scrape time (cheap partial-index counts), so every
// replica reports the same truth without keeping state.
import client from 'prom-client';
import type { Queryable } from '../db/port.ts';
import type { Metrics } from './port.ts';

export interface PromMetrics extends Metrics {
  registry: client.Registry;
  render(): Promise<{ contentType: string; body: string }>;
}

export function createPromMetrics(opts: { db?: Queryable; process?: 'api' | 'worker' } = {}): PromMetrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ process: opts.process ?? 'api' });
  client.collectDefaultMetrics({ register: registry });
  const jobLabels = ['task_type', 'model_profile'] as const;

  const created = new client.Counter({
    name: 'ai_jobs_created_total',
    help: 'Jobs created (outcome=existing: an idempotent repeat).',
    labelNames: [...jobLabels, 'outcome'],
    registers: [registry],
  });
  const completed = new client.Counter({
    name: 'ai_jobs_completed_total',
    help: 'Jobs completed.',
    labelNames: jobLabels,
    registers: [registry],
  });
  const failed = new client.Counter({
    name: 'ai_jobs_failed_total',
    help: 'Job attempts failed, by category; final=false went back to pending.',
    labelNames: [...jobLabels, 'category', 'final'],
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'ai_job_duration_seconds',
    help: 'Duration of completed jobs (claim to completion).',
    labelNames: jobLabels,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });
  const claimSize = new client.Histogram({
    name: 'ai_claim_batch_size',
    help: 'Jobs handed out per claim call.',
    buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
    registers: [registry],
  });
  const reaped = new client.Counter({
    name: 'ai_lease_reaps_total',
    help: 'Expired leases reaped (outcome=requeued|failed).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const provider = new client.Histogram({
    name: 'ai_provider_request_duration_seconds',
    help: 'AI provider call latency by provider and outcome (ok or a failure category).',
    labelNames: ['provider', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const http = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
  });

  // Usage per calling service (the console's Usage page reads the same from SQL).
  const usageLabels = ['owner_service', 'model_profile'] as const;
  const usage = {
    prompt_tokens: new client.Counter({
      name: 'ai_usage_prompt_tokens_total',
      help: 'Prompt tokens of finished jobs, by calling service.',
      labelNames: usageLabels,
      registers: [registry],
    }),
    completion_tokens: new client.Counter({
      name: 'ai_usage_completion_tokens_total',
      help: 'Completion tokens of finished jobs, by calling service.',
      labelNames: usageLabels,
      registers: [registry],
    }),
    audio_seconds: new client.Counter({
      name: 'ai_usage_audio_seconds_total',
      help: 'Seconds of audio transcribed, by calling service.',
      labelNames: usageLabels,
      registers: [registry],
    }),
    busy_seconds: new client.Counter({
      name: 'ai_usage_busy_seconds_total',
      help: 'Worker seconds spent on finished jobs (claim to finish), by calling service.',
      labelNames: usageLabels,
      registers: [registry],
    }),
  };

  if (opts.db) {
    const db = opts.db;
    const read = () =>
      db.query<{ pending: number; running: number; oldest: number | null }>(
        `SELECT (SELECT count(*) FROM ai_jobs WHERE status = 'pending')::int AS pending,
                (SELECT count(*) FROM ai_jobs WHERE status = 'running')::int AS running,
                (SELECT extract(epoch FROM now() - min(run_after))::float8
                   FROM ai_jobs WHERE status = 'pending' AND run_after <= now()) AS oldest`,
      );
    new client.Gauge({
      name: 'ai_queue_depth',
      help: 'Jobs pending or running, read from PostgreSQL at scrape time.',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const r = (await read().catch(() => null))?.rows[0];
        if (!r) return;
        this.set({ status: 'pending' }, r.pending);
        this.set({ status: 'running' }, r.running);
      },
    });
    new client.Gauge({
      name: 'ai_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest ready pending job (0 when none).',
      registers: [registry],
      async collect() {
        const r = (await read().catch(() => null))?.rows[0];
        if (r) this.set(r.oldest ?? 0);
      },
    });
  }

  return {
    registry,
    jobCreated: (l, outcome, n = 1) => created.inc({ ...l, outcome }, n),
    jobCompleted: (l, ms) => {
      completed.inc(l);
      if (ms !== null) duration.observe(l, ms / 1000);
    },
    jobFailed: (l, category, final) => failed.inc({ ...l, category, final: String(final) }),
    claimBatch: (n) => claimSize.observe(n),
    leasesReaped: (requeued, failedN) => {
      if (requeued) reaped.inc({ outcome: 'requeued' }, requeued);
      if (failedN) reaped.inc({ outcome: 'failed' }, failedN);
    },
    providerCall: (p, outcome, s) => provider.observe({ provider: p, outcome }, s),
    httpRequest: (method, route, status, s) => http.observe({ method, route, status: String(status) }, s),
    jobUsage: (l, u) => {
      const labels = { owner_service: l.owner_service, model_profile: l.model_profile };
      for (const k of ['prompt_tokens', 'completion_tokens', 'audio_seconds', 'busy_seconds'] as const) {
        // inc(0) still creates the series, so a service shows up as soon as it finishes a job.
        usage[k].inc(labels, u[k]);
      }
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
