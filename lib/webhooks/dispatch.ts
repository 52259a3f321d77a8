// Sends due webhook deliveries: claim a batch, POST each signed job event, record the
// outcome. Runs in the worker process (workers/webhooks.ts) and in a reap run
// (POST /api/v1/jobs/reap, for API-only deployments), never on a caller's request path.
// Web fetch and Web Crypto only, so it works on every runtime; the caller injects `send`
// (the worker's passes every URL through the network guard).
//
// Outcomes: 2xx delivered; 408, 429, 5xx, timeouts and connection errors retried with
// backoff until WEBHOOK_RETRY_HORIZON after the job ended; any other status (3xx too:
// redirects are never followed) and refused URLs are final. Nothing here touches the job.
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/port.ts';
import { type JobRow, toJobJson } from '../jobs/row.ts';
import type { Logger } from '../telemetry/port.ts';
import { claimDueDeliveries, type DeliveryAttempt, type DeliveryRow, recordAttempt } from './deliveries.ts';
import { sign } from './sign.ts';
import { checkWebhookUrl } from './url.ts';

export type Send = (url: string, init: RequestInit) => Promise<Response>;

export interface DispatchDeps {
  db: Db;
  config: Pick<
    Config,
    | 'WEBHOOK_SECRET'
    | 'WEBHOOK_SECRETS'
    | 'WEBHOOK_ALLOWED_HOSTS'
    | 'WEBHOOK_TIMEOUT'
    | 'WEBHOOK_RETRY_HORIZON'
  >;
  log: Logger;
  send: Send;
  now?: () => number;
}

export interface DispatchSummary {
  claimed: number;
  delivered: number;
  retrying: number;
  failed: number;
}

/** Bytes of a receiver's answer kept in the attempt log. */
const EXCERPT_BYTES = 512;
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 60 * 60_000;

export function webhookSecret(
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_SECRETS'>,
  owner: string,
): string | undefined {
  return config.WEBHOOK_SECRETS[owner] ?? config.WEBHOOK_SECRET;
}

/** The delay before attempt n+1 after n failed attempts: 5 s · 2^(n−1), ≤ 1 h, jitter ×0.5–1. */
export function retryDelayMs(attempts: number, random = Math.random): number {
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.5 + random() / 2));
}

export async function deliverDue(
  deps: DispatchDeps,
  opts: { limit?: number; concurrency?: number } = {},
): Promise<DispatchSummary> {
  const limit = opts.limit ?? 50;
  // The claim's lock outlives the send timeout plus the time to record the outcome.
  const rows = await claimDueDeliveries(deps.db, limit, deps.config.WEBHOOK_TIMEOUT + 30_000);
  const summary: DispatchSummary = { claimed: rows.length, delivered: 0, retrying: 0, failed: 0 };
  let next = 0;
  const lane = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      const outcome = await deliverOne(deps, row);
      summary[outcome]++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, rows.length) }, lane));
  return summary;
}

async function deliverOne(deps: DispatchDeps, d: DeliveryRow): Promise<'delivered' | 'retrying' | 'failed'> {
  const now = deps.now ?? Date.now;
  const started = now();
  const attempt = (
    status: number | null,
    error: string | null,
    response: string | null,
  ): DeliveryAttempt => ({
    at: new Date(started).toISOString(),
    status,
    latency_ms: Math.max(0, Math.round(now() - started)),
    error,
    response,
  });
  const finish = async (outcome: 'delivered' | 'retrying' | 'failed', a: DeliveryAttempt) => {
    let status: 'delivered' | 'pending' | 'failed' = outcome === 'retrying' ? 'pending' : outcome;
    let retryInMs: number | undefined;
    if (outcome === 'retrying') {
      retryInMs = retryDelayMs(d.attempts);
      const horizon = +new Date(d.created_at) + deps.config.WEBHOOK_RETRY_HORIZON;
      if (now() + retryInMs > horizon) {
        status = 'failed';
        retryInMs = undefined;
        a.error = `${a.error ?? `HTTP ${a.status}`}; gave up after ${d.attempts} attempts (WEBHOOK_RETRY_HORIZON)`;
      }
    }
    const recorded = await recordAttempt(deps.db, d, {
      status,
      ...(retryInMs !== undefined && { retryInMs }),
      attempt: a,
    });
    const fields = {
      delivery_id: d.id,
      job_id: d.job_id,
      event: d.event,
      attempt: d.attempts,
      status: a.status,
    };
    if (!recorded)
      deps.log.warn(fields, 'webhook outcome not recorded: the delivery was re-claimed meanwhile');
    else if (status === 'failed')
      deps.log.warn({ ...fields, error: a.error }, 'webhook delivery failed for good');
    else if (status === 'pending')
      deps.log.info(
        { ...fields, error: a.error, retry_in_ms: retryInMs },
        'webhook delivery will be retried',
      );
    else deps.log.debug(fields, 'webhook delivered');
    return status === 'pending' ? 'retrying' : status;
  };

  const secret = webhookSecret(deps.config, d.owner_service);
  if (!secret) {
    return finish(
      'failed',
      attempt(null, `no webhook secret configured for ${d.owner_service} (WEBHOOK_SECRETS)`, null),
    );
  }
  const refused = checkWebhookUrl(d.url, deps.config.WEBHOOK_ALLOWED_HOSTS);
  if (refused) return finish('failed', attempt(null, `refused: ${refused}`, null));

  const body = JSON.stringify({
    type: `job.${d.event}`,
    timestamp: new Date(started).toISOString(),
    data: toJobJson(d.job as unknown as JobRow),
  });
  const ts = Math.floor(started / 1000);
  let res: Response;
  try {
    res = await deps.send(d.url, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'ai-service-webhooks/1',
        'webhook-id': d.id,
        'webhook-timestamp': String(ts),
        'webhook-signature': await sign(secret, d.id, ts, body),
      },
      body,
      signal: AbortSignal.timeout(deps.config.WEBHOOK_TIMEOUT),
    });
  } catch (err) {
    const e = err as Error;
    const timedOut = e?.name === 'TimeoutError' || e?.name === 'AbortError';
    const message = timedOut ? `no answer within ${deps.config.WEBHOOK_TIMEOUT} ms` : describeSendError(e);
    // A guard refusal (a redirect target, a resolved address) is final; the rest is transient.
    if ((e as { code?: string })?.code === 'url_refused')
      return finish('failed', attempt(null, `refused: ${e.message}`, null));
    return finish('retrying', attempt(null, message, null));
  }
  const excerpt = await readExcerpt(res);
  const a = attempt(res.status, null, excerpt);
  if (res.status >= 200 && res.status < 300) return finish('delivered', a);
  if (res.status === 408 || res.status === 429 || res.status >= 500) return finish('retrying', a);
  a.error = res.status >= 300 && res.status < 400 ? 'redirects are not followed' : `HTTP ${res.status}`;
  return finish('failed', a);
}

function describeSendError(e: Error): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return (cause?.code ?? cause?.message ?? e?.message ?? String(e)).slice(0, 200);
}

/** At most EXCERPT_BYTES of the body; the rest is never read (a receiver cannot make us buffer). */
async function readExcerpt(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body cut off mid-way still leaves its status as the outcome.
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  const text = new TextDecoder().decode(all.subarray(0, EXCERPT_BYTES));
  return text.length ? text : null;
}
