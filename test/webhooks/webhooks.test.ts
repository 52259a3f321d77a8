// Completion webhooks, end to end: jobs created and finished over HTTP, deliveries sent
// by the real dispatcher to a loopback receiver that verifies every signature with the
// `standardwebhooks` package (a separate, well-kept implementation), fails on demand and
// goes down for a while. Rows in PostgreSQL show every attempt; the job never changes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { claimDueDeliveries } from '../../lib/webhooks/deliveries.ts';
import { deliverDue, retryDelayMs } from '../../lib/webhooks/dispatch.ts';
import { sign, verify } from '../../lib/webhooks/sign.ts';
import { startWebhookDispatcher } from '../../workers/webhooks.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER_SECRET = 'whsec_c2Vjb25kLXNlY3JldC1mb3ItdGVzdHM=';

interface Received {
  id: string;
  body: any;
  verified: boolean;
}

/** A receiver that verifies with standardwebhooks; answers `plan` statuses first, then 200. */
class Receiver {
  server!: Server;
  port = 0;
  received: Received[] = [];
  plan: number[] = [];
  constructor(private readonly secret: string) {}
  async start(port = 0): Promise<void> {
    const wh = new Webhook(this.secret);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let verified = true;
        try {
          wh.verify(raw, req.headers as Record<string, string>);
        } catch {
          verified = false;
        }
        this.received.push({ id: String(req.headers['webhook-id']), body: JSON.parse(raw), verified });
        const status = this.plan.shift() ?? 200;
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 200 ? 'ok' : `nope ${status} ${'x'.repeat(2000)}`);
      });
    });
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  get url() {
    return `http://127.0.0.1:${this.port}/hooks`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const env = {
  WEBHOOK_SECRETS: `telephony=${SECRET},monitoring-tg=${OTHER_SECRET}`,
  WEBHOOK_TIMEOUT: '2s',
};
const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
const job = (over: Record<string, unknown> = {}) => ({
  owner_service: 'telephony',
  owner_ref: 'beeline/1',
  task_type: 'llm_chat',
  model_profile: 'qwen2.5-14b',
  input: { user: 'hi' },
  ...over,
});

let api: TestApi;
let rx: Receiver;
const dispatch = (over: Partial<typeof config> = {}) =>
  deliverDue({
    db: api.t.db,
    config: { ...config, ...over },
    log: silentLogger,
    send: (u, i) => fetch(u, i),
  });
/** Makes every pending delivery due now: stands in for the backoff's time passing. */
const timePasses = () =>
  api.t.db.query(`UPDATE ai_webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending'`);

async function finishedJob(over: Record<string, unknown> = {}, outcome: 'complete' | 'fail' = 'complete') {
  const created = await api.json('POST', '/api/v1/jobs', job({ webhook_url: rx.url, ...over }));
  expect(created.status).toBe(201);
  const claim = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1', limit: 1 });
  const c = claim.body.jobs[0];
  const lease = { worker_id: 'w1', lease_token: c.lease_token };
  const end =
    outcome === 'complete'
      ? await api.json('POST', `/api/v1/jobs/${c.id}/complete`, { ...lease, result: { content: 'done' } })
      : await api.json('POST', `/api/v1/jobs/${c.id}/fail`, {
          ...lease,
          category: 'invalid_input',
          message: 'bad',
        });
  expect(end.status).toBe(200);
  return end.body;
}

beforeAll(async () => {
  api = await startTestApi(env);
  rx = new Receiver(SECRET);
  await rx.start();
});
afterAll(async () => {
  await rx?.stop();
  await api?.close();
});
beforeEach(async () => {
  await api.t.db.query('DELETE FROM ai_jobs');
  rx.received = [];
  rx.plan = [];
});

describe('signing', () => {
  it('our signature verifies with standardwebhooks, and theirs with ours', async () => {
    const body = '{"a":1}';
    const ts = Math.floor(Date.now() / 1000);
    const sig = await sign(SECRET, 'msg_1', ts, body);
    expect(() =>
      new Webhook(SECRET).verify(body, {
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(ts),
        'webhook-signature': sig,
      }),
    ).not.toThrow();
    const theirs = new Webhook(SECRET).sign('msg_2', new Date(ts * 1000), body);
    expect(
      await verify(SECRET, { id: 'msg_2', timestamp: String(ts), signature: `v1,bogus ${theirs}` }, body),
    ).toBe(true);
    expect(await verify(SECRET, { id: 'msg_2', timestamp: String(ts), signature: theirs }, '{"a":2}')).toBe(
      false,
    );
    expect(await verify(SECRET, { id: 'msg_2', timestamp: String(ts - 3600), signature: theirs }, body)).toBe(
      false,
    );
  });

  it('backoff grows and is capped', () => {
    expect(retryDelayMs(1, () => 1)).toBe(5_000);
    expect(retryDelayMs(3, () => 1)).toBe(20_000);
    expect(retryDelayMs(30, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(1, () => 0)).toBe(2_500);
  });
});

describe('delivery', () => {
  it('a completed job is POSTed once, signed with its caller’s secret, and the attempt is shown on the job', async () => {
    const done = await finishedJob();
    const s = await dispatch();
    expect(s).toMatchObject({ claimed: 1, delivered: 1 });
    expect(rx.received).toHaveLength(1);
    const [msg] = rx.received;
    expect(msg!.verified).toBe(true);
    expect(msg!.body).toMatchObject({
      type: 'job.completed',
      data: { id: done.id, status: 'completed', result: { content: 'done' } },
    });
    expect(msg!.body.data).not.toHaveProperty('lease_token');
    const shown = await api.json('GET', `/api/v1/jobs/${done.id}/webhooks`);
    expect(shown.status).toBe(200);
    expect(shown.body.deliveries).toHaveLength(1);
    expect(shown.body.deliveries[0]).toMatchObject({
      id: msg!.id,
      event: 'completed',
      status: 'delivered',
      attempts: 1,
    });
    expect(shown.body.deliveries[0].log[0]).toMatchObject({ status: 200, error: null, response: 'ok' });
    expect(await dispatch()).toMatchObject({ claimed: 0 });
  });

  it('retries 5xx with backoff under the same webhook-id; the job stays as it ended', async () => {
    rx.plan = [500, 503];
    const done = await finishedJob();
    expect(await dispatch()).toMatchObject({ retrying: 1 });
    const row = (await api.t.db.query<any>('SELECT * FROM ai_webhook_deliveries')).rows[0];
    expect(+row.next_attempt_at - Date.now()).toBeGreaterThan(1_000); // backed off, not due at once
    expect(await dispatch()).toMatchObject({ claimed: 0 });
    await timePasses();
    expect(await dispatch()).toMatchObject({ retrying: 1 });
    await timePasses();
    expect(await dispatch()).toMatchObject({ delivered: 1 });
    expect(rx.received.map((r) => r.id)).toEqual([row.id, row.id, row.id]);
    expect(rx.received.every((r) => r.verified)).toBe(true);
    const log = (await api.json('GET', `/api/v1/jobs/${done.id}/webhooks`)).body.deliveries[0].log;
    expect(log.map((a: any) => a.status)).toEqual([500, 503, 200]);
    expect(log[0].response.length).toBeLessThanOrEqual(512);
    const job = await api.json('GET', `/api/v1/jobs/${done.id}`);
    expect(job.body).toMatchObject({ status: 'completed', updated_at: done.updated_at });
  });

  it('a receiver that is down is retried until it is back', async () => {
    await finishedJob();
    const port = rx.port;
    await rx.stop();
    expect(await dispatch()).toMatchObject({ retrying: 1 });
    await timePasses();
    expect(await dispatch()).toMatchObject({ retrying: 1 });
    await rx.start(port);
    await timePasses();
    expect(await dispatch()).toMatchObject({ delivered: 1 });
    const row = (await api.t.db.query<any>('SELECT * FROM ai_webhook_deliveries')).rows[0];
    expect(row.log.map((a: any) => a.status)).toEqual([null, null, 200]);
    expect(row.log[0].error).toBeTruthy();
  });

  it('gives up after WEBHOOK_RETRY_HORIZON; 4xx and redirects are final at once', async () => {
    rx.plan = [502];
    await finishedJob();
    expect(await dispatch({ WEBHOOK_RETRY_HORIZON: 1_000 })).toMatchObject({ failed: 1 });
    rx.plan = [410];
    await finishedJob({ owner_ref: 'b/2' });
    expect(await dispatch()).toMatchObject({ failed: 1 });
    rx.plan = [302];
    await finishedJob({ owner_ref: 'b/3' });
    expect(await dispatch()).toMatchObject({ failed: 1 });
    const rows = (await api.t.db.query<any>('SELECT status, log FROM ai_webhook_deliveries ORDER BY id'))
      .rows;
    expect(rows.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(rows[0].log[0].error).toContain('WEBHOOK_RETRY_HORIZON');
    expect(rows[2].log[0].error).toContain('redirects are not followed');
    expect(rx.received).toHaveLength(3);
  });

  it('survives a dispatcher that died after claiming: sent again, same webhook-id, after the lock', async () => {
    await finishedJob();
    const [claimed] = await claimDueDeliveries(api.t.db, 10, 60_000); // ...and then the process dies
    expect(await dispatch()).toMatchObject({ claimed: 0 }); // locked while the dead one "sends"
    await timePasses(); // the lock runs out
    expect(await dispatch()).toMatchObject({ delivered: 1 });
    expect(rx.received.map((r) => r.id)).toEqual([claimed!.id]);
  });

  it('only the events asked for; failed and cancelled endings too', async () => {
    await finishedJob({ webhook_events: ['failed'] }); // completed: not asked for
    await finishedJob({ owner_ref: 'b/2' }, 'fail');
    const c = await api.json('POST', '/api/v1/jobs', job({ owner_ref: 'b/3', webhook_url: rx.url }));
    await api.json('POST', '/api/v1/jobs/cancel', { ids: [c.body.id] });
    await api.json('POST', '/api/v1/jobs', job({ owner_ref: 'b/4' })); // no webhook at all
    await dispatch();
    expect(rx.received.map((r) => r.body.type).sort()).toEqual(['job.cancelled', 'job.failed']);
  });

  it('the worker’s dispatcher delivers without being asked, and the reap route does where no worker runs', async () => {
    await finishedJob();
    const d = startWebhookDispatcher({
      db: api.t.db,
      config: { ...config, WEBHOOK_POLL_INTERVAL: 50 },
      log: silentLogger,
    });
    for (let i = 0; i < 100 && rx.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await d.stop();
    expect(rx.received).toHaveLength(1);
    await finishedJob({ owner_ref: 'b/2' });
    const reap = await api.json('POST', '/api/v1/jobs/reap');
    expect(reap.status).toBe(200);
    expect(reap.body.webhooks).toMatchObject({ claimed: 1, delivered: 1 });
    expect(rx.received).toHaveLength(2);
  });
});

describe('refused at create', () => {
  it('metadata and link-local addresses, hosts off the allow-list, callers without a secret: 400, nothing written', async () => {
    const bad = [
      job({ webhook_url: 'http://169.254.169.254/latest/meta-data' }),
      job({ webhook_url: 'http://[fe80::1]/x' }),
      job({ webhook_url: 'http://user:pw@127.0.0.1/x' }),
      job({ webhook_url: 'ftp://127.0.0.1/x' }),
      job({ owner_service: 'monitoring-pf', webhook_url: rx.url }),
    ];
    for (const b of bad) {
      const r = await api.json('POST', '/api/v1/jobs', b);
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(r.body.error.code).toBe('validation_error');
      expect(JSON.stringify(r.body.error.details)).toContain('webhook_url');
    }
    const batch = await api.json('POST', '/api/v1/jobs/batch', {
      defaults: { owner_service: 'telephony', task_type: 'llm_chat', model_profile: 'p', input: {} },
      jobs: [
        { owner_ref: 'a', webhook_url: rx.url },
        { owner_ref: 'b', webhook_url: 'http://169.254.169.254/' },
      ],
    });
    expect(batch.status).toBe(400);
    expect(batch.body.error.details.items.map((i: any) => i.index)).toEqual([1]);
    expect((await api.t.db.query('SELECT 1 FROM ai_jobs')).rows).toHaveLength(0);
  });

  it('WEBHOOK_ALLOWED_HOSTS limits where webhooks may go, at create and again at delivery', async () => {
    const strict = await startTestApi({
      ...env,
      WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com,*.internal.example',
    });
    try {
      const r = await strict.json('POST', '/api/v1/jobs', job({ webhook_url: rx.url }));
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toContain('WEBHOOK_ALLOWED_HOSTS');
      const ok = await strict.json(
        'POST',
        '/api/v1/jobs',
        job({ webhook_url: 'https://a.internal.example/h' }),
      );
      expect(ok.status).toBe(201);
    } finally {
      await strict.close();
    }
    await finishedJob();
    expect(await dispatch({ WEBHOOK_ALLOWED_HOSTS: ['hooks.example.com'] })).toMatchObject({ failed: 1 });
    expect(rx.received).toHaveLength(0);
  });
});
