// What the service answers, as zod/mini schemas: the OpenAPI document's
// components.schemas are generated from these (lib/http/openapi.ts), and
// test/api/openapi.test.ts parses real responses with them, so the document cannot
// drift from the handlers. Each schema is registered under its component name.
import * as z from 'zod/mini';
import { ERROR_STATUS, type ErrorCode } from '../errors.ts';
import { FAILURE_CATEGORIES } from '../jobs/categories.ts';
import { JOB_STATUSES } from '../jobs/transitions.ts';

/** Component name of every schema below; the document refers to them by $ref. */
export const components = z.registry<{ id: string; description?: string }>();
const named = <T extends z.ZodMiniType>(id: string, description: string, schema: T): T => {
  components.add(schema, { id, description });
  return schema;
};

const timestamp = z.iso.datetime({ offset: true });
const count = z.int().check(z.gte(0));
const jsonObject = z.record(z.string(), z.unknown());

const jobFields = {
  id: z.uuid(),
  owner_service: z.string(),
  owner_ref: z.string(),
  task_type: z.string(),
  model_profile: z.string(),
  input: jsonObject,
  result: z.nullable(jsonObject),
  status: z.enum(JOB_STATUSES),
  priority: z.int(),
  run_after: timestamp,
  attempts: count,
  max_attempts: count,
  worker_id: z.nullable(z.string()),
  lease_expires_at: z.nullable(timestamp),
  error_category: z.nullable(z.enum(FAILURE_CATEGORIES)),
  error_message: z.nullable(z.string()),
  idempotency_key: z.nullable(z.string()),
  created_at: timestamp,
  updated_at: timestamp,
  started_at: z.nullable(timestamp),
  finished_at: z.nullable(timestamp),
  duration_ms: z.nullable(count),
  /** Lease length chosen at claim; heartbeats extend by it. */
  lease_ms: z.nullable(count),
  /** Tokens reserved at claim on a budgeted profile, and those the result reported. */
  token_cost: z.nullable(count),
  tokens_used: z.nullable(count),
  /** Where the job's ending is POSTed (docs/callers.md), and for which endings (null: all). */
  /** Set only on the service's own comparison jobs (a transcript's deferred A/B providers). */
  parent_id: z.nullable(z.uuid()),
  webhook_url: z.nullable(z.string()),
  webhook_events: z.nullable(z.array(z.enum(['completed', 'failed', 'cancelled']))),
};

export const jobResponse = named(
  'Job',
  'A job as every route returns it (never its lease_token).',
  z.strictObject(jobFields),
);

export const createdJobResponse = named(
  'CreatedJob',
  'A created (or idempotently repeated) job; `warning` when no live worker serves its task_type/model_profile.',
  z.strictObject({ ...jobFields, warning: z.optional(z.string()) }),
);

export const leasedJobResponse = named(
  'LeasedJob',
  'A job handed to a worker by claim, with the lease_token that fences its heartbeat/complete/fail.',
  z.strictObject({ ...jobFields, lease_token: z.uuid() }),
);

export const jobPage = named(
  'JobPage',
  'One page of jobs, newest first; pass next_cursor back as `cursor` for the next page.',
  z.strictObject({ jobs: z.array(jobResponse), next_cursor: z.nullable(z.string()) }),
);

export const batchResult = named(
  'BatchResult',
  'One result per submitted item, in order: created, or the existing job of a repeated idempotency_key; with the job, or only its id when the request asked "return": "minimal".',
  z.strictObject({
    results: z.array(
      z.union([
        z.strictObject({ index: count, outcome: z.enum(['created', 'existing']), job: jobResponse }),
        z.strictObject({ index: count, outcome: z.enum(['created', 'existing']), id: z.uuid() }),
      ]),
    ),
  }),
);

export const settleItemResult = named(
  'SettleItemResult',
  'The outcome of one item of a batched complete/fail/heartbeat, at its index: ok with the job (also to the holder repeating its complete or fail; without it when the request asked "return": "minimal"), or the error the single route would answer for it (lease_lost with details.status, not_found, validation_error with details.issues).',
  z.union([
    z.strictObject({ index: count, id: z.uuid(), outcome: z.literal('ok'), job: z.optional(jobResponse) }),
    z.strictObject({
      index: count,
      id: z.nullable(z.string()),
      outcome: z.enum(['lease_lost', 'not_found', 'validation_error']),
      error: z.strictObject({
        code: z.enum(['lease_lost', 'not_found', 'validation_error']),
        message: z.string(),
        details: z.unknown(),
      }),
    }),
  ]),
);

export const settleResult = named(
  'SettleResult',
  'One outcome per submitted item, in order.',
  z.strictObject({ results: z.array(settleItemResult) }),
);

export const claimResult = named(
  'ClaimResult',
  'The jobs leased to the worker (possibly none); with `complete`/`fail` in the request, their outcomes too, settled before the claim in the same transaction.',
  z.strictObject({
    jobs: z.array(leasedJobResponse),
    complete: z.optional(z.array(settleItemResult)),
    fail: z.optional(z.array(settleItemResult)),
  }),
);

export const byFilterResult = named(
  'ByFilterResult',
  'Jobs retried or cancelled by a filter (or, with dry_run, that would be).',
  z.strictObject({ count, ids: z.array(z.uuid()), dry_run: z.boolean(), has_more: z.boolean() }),
);

export const reapSummary = named(
  'ReapSummary',
  'One reaper run: leases requeued or failed, finished jobs pruned, due webhook deliveries sent.',
  z.strictObject({
    requeued: count,
    failed: count,
    pruned: count,
    duration_ms: z.number(),
    webhooks: z.strictObject({ claimed: count, delivered: count, retrying: count, failed: count }),
  }),
);

const msOrNull = z.nullable(z.number());
export const statsResponse = named(
  'Stats',
  'Queue depth now and outcomes within the window.',
  z.strictObject({
    window_ms: count,
    queue: z.strictObject({
      pending: count,
      pending_ready: count,
      running: count,
      expired_leases: count,
      oldest_pending_age_ms: msOrNull,
    }),
    by_type: z.array(
      z.strictObject({ task_type: z.string(), model_profile: z.string(), pending: count, running: count }),
    ),
    finished: z.strictObject({ completed: count, failed: count, cancelled: count }),
    errors: z.array(z.strictObject({ category: z.string(), failed: count, retrying: count })),
    durations: z.strictObject({ sample: count, p50_ms: msOrNull, p95_ms: msOrNull, max_ms: msOrNull }),
    total_estimate: count,
    /** Pending work no worker seen within WORKER_LIVE_WINDOW claims (issue 11). */
    unserved: z.array(z.strictObject({ task_type: z.string(), model_profile: z.string(), pending: count })),
  }),
);

export const providersStatus = named(
  'ProvidersStatus',
  'Reachability of each configured AI provider.',
  z.strictObject({
    providers: z.array(
      z.object({
        name: z.enum(['llm', 'whisperx', 'qwen2-audio', 'voxtral-small']),
        configured: z.boolean(),
        reachable: z.nullable(z.boolean()),
        latency_ms: msOrNull,
        models: z.optional(z.array(z.string())),
        max_model_len: z.optional(z.int()),
        model: z.optional(z.string()),
        error: z.optional(z.string()),
        url: z.optional(z.string()),
      }),
    ),
  }),
);

export const infraStatus = named(
  'InfraStatus',
  'AI-server sidecar telemetry, normalised (docs/infra-sidecar.md); {"configured":false} when unset.',
  z.looseObject({ configured: z.boolean() }),
);

export const healthResponse = named(
  'Health',
  'The process is alive.',
  z.strictObject({ status: z.literal('ok') }),
);

export const readyResponse = named(
  'Readiness',
  'Ready: database reachable and migrated; otherwise why not.',
  z.looseObject({ status: z.enum(['ready', 'not_ready']), reason: z.optional(z.string()) }),
);

export const openApiResponse = named(
  'OpenApiDocument',
  'An OpenAPI 3.1 document.',
  z.looseObject({ openapi: z.string() }),
);

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];
export const errorSchema = named(
  'Error',
  'Every failure: a stable code, a human message, and details (field issues, limits, ids) or null.',
  z.strictObject({
    error: z.strictObject({ code: z.enum(ERROR_CODES), message: z.string(), details: z.unknown() }),
  }),
);

export type Job = z.infer<typeof jobResponse>;
export type LeasedJob = z.infer<typeof leasedJobResponse>;
export type SettleItemResult = z.infer<typeof settleItemResult>;

// ---- routes added by the console, scheduling and webhooks merges -------------------------
// Their answers as documented shapes (issue 14 needed GET /api/v1/openapi.json to build
// again: a route without a response schema made it a 500). Objects whose fields may
// grow are loose: the top-level shape is the contract.

const scope = z.enum(['model_profile', 'task_type']);
const source = z.nullable(z.enum(['runtime', 'config']));

export const queueRow = named(
  'QueueRow',
  'A queue control row: run-time limit, token budget and pause of one model_profile or task_type.',
  z.looseObject({
    scope,
    name: z.string(),
    max_running: z.nullable(count),
    token_budget: z.nullable(count),
    paused: z.boolean(),
    drain: z.boolean(),
    paused_reason: z.nullable(z.string()),
    paused_by: z.nullable(z.string()),
    paused_at: z.nullable(timestamp),
    updated_at: timestamp,
  }),
);

export const queueList = named(
  'QueueList',
  'Every group with work, a limit, a budget or a pause: state, effective limit, backlog, running, reserved tokens, unserved backlog.',
  z.strictObject({
    queues: z.array(
      z.looseObject({
        scope,
        name: z.string(),
        state: z.enum(['active', 'paused']),
        paused: z.nullable(z.looseObject({ drain: z.boolean() })),
        limit: z.nullable(count),
        limit_source: source,
        token_budget: z.nullable(count),
        token_budget_source: source,
        backlog: count,
        ready: count,
        running: count,
        reserved_tokens: count,
        unserved: count,
      }),
    ),
  }),
);

export const workerList = named(
  'WorkerList',
  'Workers that claimed recently, what they serve, their version and whether they are live.',
  z.strictObject({
    workers: z.array(
      z.looseObject({
        worker_id: z.string(),
        version: z.nullable(z.string()),
        live: z.boolean(),
        first_seen: timestamp,
        last_seen: timestamp,
        serves: z.array(
          z.looseObject({ task_types: z.array(z.string()), model_profiles: z.array(z.string()) }),
        ),
      }),
    ),
  }),
);

export const tokenRecord = named(
  'TokenRecord',
  'A caller token as stored (never its secret).',
  z.looseObject({ id: z.string(), name: z.string() }),
);

export const createdToken = named(
  'CreatedToken',
  'A new caller token: `token` is shown this once.',
  z.looseObject({ token: z.string(), id: z.string(), name: z.string() }),
);

export const tokenList = named(
  'TokenList',
  'Every caller token.',
  z.strictObject({ tokens: z.array(tokenRecord) }),
);

export const deliveryList = named(
  'DeliveryList',
  "A job's webhook deliveries, each with its attempts.",
  z.strictObject({
    deliveries: z.array(
      z.looseObject({
        id: z.string(),
        event: z.enum(['completed', 'failed', 'cancelled']),
        url: z.string(),
        status: z.string(),
        attempts: count,
        log: z.array(z.looseObject({ at: z.string() })),
      }),
    ),
  }),
);

export const usageResponse = named(
  'Usage',
  'Usage per owner_service × model_profile over the jobs finished in [since, until).',
  z.strictObject({
    window_ms: count,
    since: timestamp,
    until: timestamp,
    usage: z.array(
      z.looseObject({
        owner_service: z.string(),
        model_profile: z.string(),
        jobs: count,
        completed: count,
        failed: count,
        prompt_tokens: z.number(),
        completion_tokens: z.number(),
        audio_seconds: z.number(),
        busy_seconds: z.number(),
      }),
    ),
  }),
);
