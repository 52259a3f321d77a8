// The row a batch INSERT just wrote, built in Node instead of read back with RETURNING *.
// Reading 1,000 rows back costs more than writing them (≈ 5 ms of PostgreSQL output and
// 7 ms of driver parsing per batch, bench/enqueue.ts); everything in a fresh row is either
// what was sent or a column default, except the instants PostgreSQL chose (created_at,
// and run_after when one was given), which the INSERT returns. The result must equal
// `SELECT *` of the row — values and key order: test/core/inserted-row.test.ts compares
// them, so a new column or default fails there before it reaches an answer.
import type { JobRow } from './row.ts';
import type { CreateJob } from './schemas.ts';

/**
 * The job as stored: `input` as jsonb gives it back (keys in jsonb's order, JSON
 * semantics for what JSON cannot hold), `createdAt` = the statement's now(), `runAfter`
 * = the instant PostgreSQL stored for a given run_after (undefined: it defaulted to now()).
 */
export function insertedRow(
  id: string,
  job: CreateJob,
  inputJson: string,
  createdAt: Date,
  runAfter: Date | null | undefined,
): JobRow {
  return {
    id,
    owner_service: job.owner_service,
    owner_ref: job.owner_ref,
    task_type: job.task_type,
    model_profile: job.model_profile,
    input: asJsonb(JSON.parse(inputJson)) as Record<string, unknown>,
    result: null,
    status: 'pending',
    priority: job.priority ?? 0,
    run_after: runAfter ?? createdAt,
    attempts: 0,
    max_attempts: job.max_attempts ?? 3,
    worker_id: null,
    lease_token: null,
    lease_expires_at: null,
    error_category: null,
    error_message: null,
    idempotency_key: job.idempotency_key ?? null,
    created_at: createdAt,
    updated_at: createdAt,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    lease_ms: null,
    token_cost: null,
    tokens_used: null,
    parent_id: null,
    webhook_url: job.webhook_url ?? null,
    webhook_events: job.webhook_events?.length ? [...job.webhook_events] : null,
  } as JobRow;
}

// Printable ASCII: one byte per character, so length and `<` are jsonb's order; anything
// else is compared as UTF-8 bytes.
const ASCII = /^[ -~]*$/;
const utf8 = new TextEncoder();

/** jsonb's key order: shorter keys first (in UTF-8 bytes), then bytewise. */
function keyOrder(a: string, b: string): number {
  if (ASCII.test(a) && ASCII.test(b)) {
    return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  }
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/**
 * A parsed JSON value with every object's keys in the order jsonb stores and prints them,
 * so it equals JSON.parse of jsonb's text (the driver's reading of the column). Values
 * are already JSON's: numbers are doubles both ways (jsonb's numeric keeps the digits
 * JSON.stringify wrote), strings unchanged, duplicate keys gone (JSON.parse kept the last,
 * as jsonb does). Integer-like keys come first in either object: V8 orders them so.
 */
export function asJsonb(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(asJsonb);
  const keys = Object.keys(v).sort(keyOrder);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const value = asJsonb((v as Record<string, unknown>)[k]);
    // `out.__proto__ = …` would set the prototype; JSON.parse makes an own property.
    if (k === '__proto__') {
      Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    } else out[k] = value;
  }
  return out;
}
