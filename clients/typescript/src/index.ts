// The typed client for AI Service callers: openapi-fetch over the types that
// openapi-typescript generates from GET /api/v1/openapi.json (src/schema.d.ts, checked
// in; a test fails when it drifts from the service's document). Hand-written only where
// it adds something: waitFor (the long-poll loop), runWorker (the external worker loop:
// claim → heartbeat → complete/fail) and webhook signature verification.
import createFetchClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.d.ts';

export type { components, paths };
export type Job = components['schemas']['Job'];
export type ApiError = components['schemas']['Error'];
export type AiServiceClient = Client<paths>;
type FailBody = NonNullable<
  paths['/api/v1/jobs/{id}/fail']['post']['requestBody']
>['content']['application/json'];
export type FailureCategory = FailBody['category'];

export interface ClientOptions {
  baseUrl: string;
  /** AI_SERVICE_TOKEN or a caller token. */
  token?: string;
  fetch?: typeof fetch;
}

export function createClient(opts: ClientOptions): AiServiceClient {
  const client = createFetchClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    ...(opts.fetch && { fetch: opts.fetch }),
    ...(opts.token && { headers: { authorization: `Bearer ${opts.token}` } }),
  });
  return client;
}

/** Thrown by the helpers when the service answers an error envelope. */
export class AiServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
    this.name = 'AiServiceError';
  }
}

function fail(status: number, body: unknown): never {
  const e = (body as ApiError | undefined)?.error;
  throw new AiServiceError(status, e?.code ?? 'unknown', e?.message ?? `HTTP ${status}`, e?.details ?? null);
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * Waits until the job is terminal, long-polling (≤ 60 s per request, so no proxy times
 * out) until `timeoutMs`; returns the job as it is then, terminal or not.
 */
export async function waitFor(
  client: AiServiceClient,
  id: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<Job> {
  const until = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  for (;;) {
    const left = Math.max(0, until - Date.now());
    const wait = `${Math.min(60_000, left)}ms`;
    const { data, error, response } = await client.GET('/api/v1/jobs/{id}', {
      params: { path: { id }, query: { wait } },
      ...(opts.signal && { signal: opts.signal }),
    });
    if (!data) fail(response.status, error);
    if (TERMINAL.has(data.status) || Date.now() >= until || opts.signal?.aborted) return data;
  }
}

export interface WorkerJob {
  id: string;
  task_type: string;
  model_profile: string;
  input: Record<string, unknown>;
  attempts: number;
  /** Aborted when the lease is lost (cancelled, retried, reaped) or the worker stops. */
  signal: AbortSignal;
}

/** What a handler throws to report a categorised failure; anything else is `internal`. */
export class JobFailure extends Error {
  constructor(
    readonly category: FailureCategory,
    message: string,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

export interface WorkerOptions {
  workerId: string;
  handler: (job: WorkerJob) => Promise<Record<string, unknown>>;
  taskTypes?: string[];
  modelProfiles?: string[];
  /** Jobs in flight (default 4). */
  concurrency?: number;
  /** Lease length asked for at claim, e.g. "15m" (default: the service's). */
  leaseTimeout?: string;
  /** Heartbeat period in ms (default 30 s; keep it well under the lease). */
  heartbeatMs?: number;
  /** Idle wait between empty claims in ms (default 1 s). */
  idleMs?: number;
  signal?: AbortSignal;
  onError?: (err: unknown) => void;
}

/**
 * The external worker loop the README teaches: claim up to the free slots, run each job
 * with a heartbeat, complete or fail it with its lease. A lost lease (409) aborts the
 * job's signal and drops its outcome. Resolves when `signal` aborts and in-flight jobs end.
 */
export async function runWorker(client: AiServiceClient, opts: WorkerOptions): Promise<void> {
  const limit = opts.concurrency ?? 4;
  const inFlight = new Set<Promise<void>>();
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      opts.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          r();
        },
        { once: true },
      );
    });
  while (!opts.signal?.aborted) {
    const free = limit - inFlight.size;
    if (free <= 0) {
      await Promise.race(inFlight);
      continue;
    }
    const { data, error, response } = await client.POST('/api/v1/jobs/claim', {
      body: {
        worker_id: opts.workerId,
        limit: free,
        ...(opts.taskTypes && { task_types: opts.taskTypes }),
        ...(opts.modelProfiles && { model_profiles: opts.modelProfiles }),
        ...(opts.leaseTimeout && { lease_timeout: opts.leaseTimeout }),
      },
    });
    if (!data) {
      opts.onError?.(
        new AiServiceError(response.status, error?.error?.code ?? 'unknown', 'claim failed', error),
      );
      await sleep(opts.idleMs ?? 1_000);
      continue;
    }
    for (const job of data.jobs) {
      const p = runOne(client, opts, job as Job & { lease_token: string }).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (data.jobs.length === 0) await sleep(opts.idleMs ?? 1_000);
  }
  await Promise.all(inFlight);
}

async function runOne(client: AiServiceClient, opts: WorkerOptions, job: Job & { lease_token: string }) {
  const lease = { worker_id: opts.workerId, lease_token: job.lease_token };
  const path = { id: job.id };
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('worker stopping'));
  opts.signal?.addEventListener('abort', stop, { once: true });
  const beat = setInterval(async () => {
    const r = await client
      .POST('/api/v1/jobs/{id}/heartbeat', { params: { path }, body: lease })
      .catch(() => null);
    if (r?.response.status === 409) controller.abort(new Error('lease lost'));
  }, opts.heartbeatMs ?? 30_000);
  try {
    const result = await opts.handler({
      id: job.id,
      task_type: job.task_type,
      model_profile: job.model_profile,
      input: job.input as Record<string, unknown>,
      attempts: job.attempts,
      signal: controller.signal,
    });
    if (controller.signal.aborted) return;
    await client.POST('/api/v1/jobs/{id}/complete', { params: { path }, body: { ...lease, result } });
  } catch (err) {
    if (controller.signal.aborted) return;
    const f =
      err instanceof JobFailure ? err : new JobFailure('internal', String((err as Error)?.message ?? err));
    await client.POST('/api/v1/jobs/{id}/fail', {
      params: { path },
      body: {
        ...lease,
        category: f.category,
        message: f.message.slice(0, 2000),
        ...(f.retryAfterSec !== undefined && { retry_after: f.retryAfterSec }),
      },
    });
  } finally {
    clearInterval(beat);
    opts.signal?.removeEventListener('abort', stop);
  }
}

export { sign as signWebhook, verify as verifyWebhook } from '../../../lib/webhooks/sign.ts';
