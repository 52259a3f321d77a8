// The ops console over HTTP (app.fetch, real Request/Response): login and sessions,
// CSRF, redirects without a session, escaping, production lock-out, the retry flow, the
// A/B and usage figures from SQL, GET /api/v1/usage and the usage counters.

import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { listJobs } from '../../lib/jobs/list.ts';
import { usageByOwner, usageLive } from '../../lib/jobs/usage.ts';
import { align } from '../../lib/ops/diff.ts';
import { hourlyThroughput } from '../../lib/ops/overview.ts';
import { issueSession, SESSION_TTL_MS } from '../../lib/ops/session.ts';
import { buildApi } from '../../lib/server/server.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { EXPECTED, insertJob, type Seeded, seedConsole, XSS_REF } from './seed.ts';

const TOKEN = 'console-test-token-0123456789';
const PAGES = ['/ops', '/ops/jobs', '/ops/failures', '/ops/ab', '/ops/usage', '/ops?fragment=1'];
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function login(api: TestApi, token = TOKEN): Promise<{ res: Response; cookie: string | null }> {
  const form = await api.call('GET', '/ops/login');
  const nonce = /name="_login" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await api.call(
    'POST',
    '/ops/login',
    new URLSearchParams({ _login: nonce, token, next: '/ops/jobs' }).toString(),
    { ...FORM, cookie: `ops_login=${nonce}` },
  );
  const set = res.headers.getSetCookie().find((c) => c.startsWith('ops_session='));
  return { res, cookie: set ? set.split(';')[0]! : null };
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;

describe('ops console with AI_SERVICE_TOKEN', () => {
  let api: TestApi;
  let seeded: Seeded;
  let cookie: string;
  beforeAll(async () => {
    api = await startTestApi({ AI_SERVICE_TOKEN: TOKEN });
    seeded = await seedConsole(api.t.db);
    cookie = (await login(api)).cookie!;
  });
  afterAll(() => api?.close());

  it('sends every page to the login without reading or showing data', async () => {
    for (const p of [...PAGES, `/ops/jobs/${seeded.xssId}`]) {
      const res = await api.call('GET', p);
      expect(res.status, p).toBe(303);
      expect(res.headers.get('location')).toBe(`/ops/login?next=${encodeURIComponent(p)}`);
      expect(await res.text()).toBe('');
    }
    // A forged, tampered or expired cookie is no session either.
    const stale = await issueSession(TOKEN, Date.now() - SESSION_TTL_MS - 1000);
    const other = await issueSession('another-token', Date.now());
    const [exp, nonce, sig] = cookie.slice('ops_session='.length).split('.');
    for (const bad of [
      `ops_session=${stale.cookie}`,
      `ops_session=${other.cookie}`,
      `ops_session=${Number(exp) + 1}.${nonce}.${sig}`,
      'ops_session=garbage',
    ]) {
      const res = await api.call('GET', '/ops/failures', undefined, { cookie: bad });
      expect(res.status, bad).toBe(303);
    }
    // POSTs too: nothing happens without a session.
    const res = await api.call(
      'POST',
      '/ops/actions',
      'action=retry&step=confirm&filter={"owner_service":"crm"}',
      FORM,
    );
    expect(res.status).toBe(303);
    const still = await api.t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'failed'`,
    );
    expect(still.rows[0]!.n).toBe(4);
  });

  it('logs in with the token: HttpOnly, SameSite=Strict session cookie; Secure over HTTPS', async () => {
    const { res, cookie: c } = await login(api);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ops/jobs');
    expect(c).toMatch(/^ops_session=\d+\.[\w-]+\.[\w-]{43}$/);
    const set = res.headers.getSetCookie().find((x) => x.startsWith('ops_session='))!;
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Strict');
    expect(set).toContain('Path=/ops');
    expect(set).not.toContain('Secure');

    const form = await api.call('GET', '/ops/login', undefined, { 'x-forwarded-proto': 'https' });
    const nonce = /name="_login" value="([^"]+)"/.exec(await form.text())![1]!;
    const https = await api.call('POST', '/ops/login', `_login=${nonce}&token=${TOKEN}`, {
      ...FORM,
      cookie: `ops_login=${nonce}`,
      'x-forwarded-proto': 'https',
    });
    expect(https.headers.getSetCookie().find((x) => x.startsWith('ops_session='))).toMatch(/; Secure$/);
  });

  it('refuses a wrong token and a login form without its cookie', async () => {
    const wrong = await login(api, 'not-the-token');
    expect(wrong.res.status).toBe(401);
    expect(wrong.cookie).toBeNull();
    expect(await wrong.res.text()).toContain('Wrong token');
    const noCookie = await api.call('POST', '/ops/login', `_login=abc&token=${TOKEN}`, FORM);
    expect(noCookie.status).toBe(403);
    expect(noCookie.headers.getSetCookie().some((x) => x.startsWith('ops_session='))).toBe(false);
  });

  it('shows the pages with a session, with a CSP and no caching', async () => {
    for (const p of PAGES) {
      const res = await api.call('GET', p, undefined, { cookie });
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    const overview = await (await api.call('GET', '/ops', undefined, { cookie })).text();
    expect(overview).toContain('gpu-worker-7'); // the expired lease's worker
    expect(overview).not.toContain('open-banner');
    const css = await api.call('GET', '/ops/assets/ops.css');
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  it('escapes caller data: a <script> owner_ref renders as text', async () => {
    for (const p of [`/ops/jobs?owner_service=xss`, `/ops/jobs/${seeded.xssId}`, '/ops/failures']) {
      const html = await (await api.call('GET', p, undefined, { cookie })).text();
      expect(html, p).not.toContain('<script>window.__xss');
      expect(html, p).not.toContain('<b onmouseover');
      expect(html, p).not.toContain('<img src=x');
    }
    const job = await (await api.call('GET', `/ops/jobs/${seeded.xssId}`, undefined, { cookie })).text();
    expect(job).toContain('&lt;script&gt;window.__xss = 1&lt;/script&gt;');
    expect(XSS_REF).toContain('<script>');
  });

  it('rejects a POST without the CSRF token, and retries a group after a dry run', async () => {
    const filter = JSON.stringify({ status: ['failed'], error_category: ['provider_unavailable'] });
    const body = (extra: Record<string, string>) =>
      new URLSearchParams({ action: 'retry', filter, ...extra }).toString();
    const noCsrf = await api.call('POST', '/ops/actions', body({ step: 'confirm' }), { ...FORM, cookie });
    expect(noCsrf.status).toBe(403);
    const wrong = await api.call('POST', '/ops/actions', body({ step: 'confirm', _csrf: 'x'.repeat(43) }), {
      ...FORM,
      cookie,
    });
    expect(wrong.status).toBe(403);
    const failedNow = async () =>
      (
        await api.t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'failed' AND error_category = 'provider_unavailable'`,
        )
      ).rows[0]!.n;
    expect(await failedNow()).toBe(3);

    const page = await (await api.call('GET', '/ops/failures', undefined, { cookie })).text();
    const csrf = csrfOf(page);
    const preview = await api.call('POST', '/ops/actions', body({ step: 'preview', _csrf: csrf }), {
      ...FORM,
      cookie,
    });
    const html = await preview.text();
    expect(preview.status).toBe(200);
    expect(/id="dry-count">(\d+)</.exec(html)![1]).toBe('3');
    for (const id of seeded.failedIds) expect(html).toContain(id);
    expect(await failedNow()).toBe(3); // the preview changed nothing

    const done = await api.call('POST', '/ops/actions', body({ step: 'confirm', _csrf: csrf }), {
      ...FORM,
      cookie,
    });
    expect(/id="done-count">(\d+)</.exec(await done.text())![1]).toBe('3');
    const st = await api.t.db.query<{ status: string }>(
      'SELECT status FROM ai_jobs WHERE id = ANY($1::uuid[])',
      [seeded.failedIds],
    );
    expect(st.rows.map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('GET /api/v1/usage: bearer-authed; tokens, audio and busy seconds per owner × profile', async () => {
    expect((await api.json('GET', '/api/v1/usage')).status).toBe(401);
    const r = await api.json('GET', '/api/v1/usage?window=1d', undefined, {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(r.status).toBe(200);
    const crm = r.body.usage.find((u: any) => u.owner_service === 'crm' && u.model_profile === 'qwen2.5-14b');
    expect(crm.prompt_tokens).toBe(EXPECTED.usage.crmPrompt);
    expect(crm.completion_tokens).toBe(EXPECTED.usage.crmCompletion);
    expect(crm.busy_seconds).toBe(EXPECTED.usage.crmBusyAfterRetry);
    const tel = r.body.usage.find((u: any) => u.owner_service === 'telephony');
    expect(tel.audio_seconds).toBe(EXPECTED.usage.telephonyAudio);
    expect(tel.busy_seconds).toBe(EXPECTED.usage.telephonyBusy);
    const bad = await api.json('GET', '/api/v1/usage?window=30d', undefined, {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(bad.status).toBe(400);
    const one = await api.json('GET', '/api/v1/usage?owner_service=telephony', undefined, {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(one.body.usage.map((u: any) => u.owner_service)).toEqual(['telephony']);
  });
});

describe('ops console without AI_SERVICE_TOKEN', () => {
  // Same database as a test API, another configuration: only the config differs.
  let api: TestApi;
  const appWith = (env: Record<string, string>) => {
    const { app } = buildApi(loadConfig({ LOG_LEVEL: 'silent', ...env }), api.t.db, silentLogger);
    return (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
      Promise.resolve(app.fetch(new Request(`http://test${path}`, { method, headers, body })));
  };
  beforeAll(async () => {
    api = await startTestApi({});
  });
  afterAll(() => api?.close());

  it('is open in development, with a banner and a working CSRF check', async () => {
    const call = appWith({});
    const res = await call('GET', '/ops');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('id="open-banner"');
    const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
    const post = await call('POST', '/ops/logout', '', { ...FORM, cookie });
    expect(post.status).toBe(403);
  });

  it('is not served with NODE_ENV=production', async () => {
    const call = appWith({ NODE_ENV: 'production', DATABASE_URL: 'postgres://unused@127.0.0.1/unused' });
    for (const p of [...PAGES, '/ops/login', '/ops/assets/ops.js']) {
      const res = await call('GET', p);
      expect(res.status, p).toBe(404);
      expect(await res.text()).not.toContain('<html');
    }
  });

  it('usage over whole hours from the rollup equals the live figures', async () => {
    const db = api.t.db;
    // Earlier tests may have rolled these (then empty) hours up already; the jobs below are
    // back-dated into them, which real jobs never are, so start the rollup afresh.
    await db.exec('DELETE FROM ai_usage_hourly; DELETE FROM ai_usage_hours;');
    const llm = { task_type: 'llm_chat', model_profile: 'qwen2.5-14b', status: 'completed' };
    const result = (p: number) => ({ usage: { prompt_tokens: p, completion_tokens: 1 } });
    for (const [owner, agoS, p] of [
      ['crm', 20 * 60, 1],
      ['crm', 2.5 * 3600, 10],
      ['crm', 5 * 3600, 100],
      ['search', 26 * 3600, 1000],
      ['search', 47 * 3600, 10000],
      ['search', 50 * 3600, 100000], // outside the 48 h window
    ] as const) {
      await insertJob(db, {
        owner_service: owner,
        owner_ref: `r/${agoS}`,
        ...llm,
        result: result(p),
        finished_ago_s: agoS,
        duration_ms: 1500,
      });
    }
    const q = { since: new Date(Date.now() - 48 * 3_600_000), until: new Date() };
    const pick = (rows: any[]) =>
      Object.fromEntries(
        rows
          .filter((r) => r.owner_service !== 'xss')
          .map((r) => [r.owner_service, [r.jobs, r.prompt_tokens, r.completion_tokens, r.busy_seconds]]),
      );
    const live = pick(await usageLive(db, q));
    expect(live).toEqual({ crm: [3, 111, 3, 4.5], search: [2, 11000, 2, 3] });
    expect(pick(await usageByOwner(db, q))).toEqual(live); // before migration 008: live only

    const has = await db.query<{ ok: boolean }>(`SELECT to_regclass('ai_usage_hours') IS NOT NULL AS ok`);
    if (!has.rows[0]!.ok) await db.exec(await readFile('migrations/008_console.sql', 'utf8'));
    expect(pick(await usageByOwner(db, q))).toEqual(live); // fills the whole hours, then sums them
    const hours = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_usage_hours');
    expect(hours.rows[0]!.n).toBeGreaterThanOrEqual(46);
    const rolled = await db.query<{ n: number }>(
      'SELECT coalesce(sum(prompt_tokens), 0)::int AS n FROM ai_usage_hourly',
    );
    // The 2.5 h, 5 h, 26 h and 47 h jobs, never the edges of the window; the 20-minute-old
    // job (1 token) lies in a closed whole hour only during the first 20 minutes of an hour.
    expect([11110, 11111]).toContain(rolled.rows[0]!.n);
    expect(pick(await usageByOwner(db, q))).toEqual(live); // second read: from the rollup
    // The day chart sums the same rollup: equal to counting the jobs live.
    const now = Date.now();
    const live24 = await hourlyThroughput(db, now, 48, { live: true });
    expect(await hourlyThroughput(db, now, 48)).toEqual(live24);
    expect(live24.reduce((n, b) => n + b.completed, 0)).toBe(5); // the job 50 h ago is outside
    const one = await usageByOwner(db, { ...q, owner_service: 'search' });
    expect(one.map((r) => [r.owner_service, r.prompt_tokens])).toEqual([['search', 11000]]);
  });

  it('created_after still means created_at (the UUID v7 id bound only narrows the scan)', async () => {
    const db = api.t.db;
    const all = await listJobs(db, { owner_service: 'crm', limit: 500 });
    const some = await listJobs(db, {
      owner_service: 'crm',
      created_after: new Date(Date.now() - 60_000).toISOString(),
      limit: 500,
    });
    expect(some.jobs.length).toBe(all.jobs.length);
    const far = await listJobs(db, {
      owner_service: 'crm',
      created_after: '1900-01-01T00:00:00Z',
      limit: 500,
    });
    expect(far.jobs.length).toBe(all.jobs.length);
    const future = await listJobs(db, { created_after: '9999-01-01T00:00:00Z' });
    expect(future.jobs).toEqual([]);
    // The console's dry run uses the same filter.
    const dry = await api.json('POST', '/api/v1/jobs/cancel', {
      owner_service: 'crm',
      created_after: new Date(Date.now() - 60_000).toISOString(),
      dry_run: true,
    });
    expect(dry.status).toBe(200);
  });

  it('counts usage per owner_service when a job is completed through the API', async () => {
    const created = await api.json('POST', '/api/v1/jobs', {
      owner_service: 'crm',
      owner_ref: 'lead/m1',
      task_type: 'llm_chat',
      model_profile: 'qwen2.5-14b',
      input: { prompt: 'hi' },
    });
    expect(created.status).toBe(201);
    const claim = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1', task_types: ['llm_chat'] });
    const job = claim.body.jobs[0];
    const done = await api.json('POST', `/api/v1/jobs/${job.id}/complete`, {
      worker_id: 'w1',
      lease_token: job.lease_token,
      result: { content: 'x', usage: { prompt_tokens: 42, completion_tokens: 7 } },
    });
    expect(done.status).toBe(200);
    const text = await (await api.call('GET', '/metrics')).text();
    expect(text).toMatch(
      /ai_usage_prompt_tokens_total\{owner_service="crm",model_profile="qwen2.5-14b"[^}]*\} 42/,
    );
    expect(text).toMatch(/ai_usage_completion_tokens_total\{owner_service="crm",[^}]*\} 7/);

    // A final failure through the API counts its busy time for its owner too.
    await api.json('POST', '/api/v1/jobs', {
      owner_service: 'support',
      owner_ref: 't/1',
      task_type: 'llm_chat',
      model_profile: 'qwen2.5-14b',
      input: { prompt: 'hi' },
    });
    const c2 = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1', task_types: ['llm_chat'] });
    const j2 = c2.body.jobs[0];
    const failed = await api.json('POST', `/api/v1/jobs/${j2.id}/fail`, {
      worker_id: 'w1',
      lease_token: j2.lease_token,
      category: 'invalid_input',
      message: 'bad prompt',
    });
    expect(failed.body.status).toBe('failed');
    const after = await (await api.call('GET', '/metrics')).text();
    expect(after).toMatch(/ai_usage_busy_seconds_total\{owner_service="support",model_profile="qwen2.5-14b"/);
    expect(after).not.toMatch(/ai_usage_prompt_tokens_total\{owner_service="support"[^}]*\} [1-9]/);
  });
});

describe('word alignment', () => {
  it('aligns words: substitutions, deletions, insertions and WER', () => {
    const a = align(
      'The quick brown fox jumps over the lazy dog.',
      'quick brown fox jumps over the lazy dog today',
    );
    expect([a.substitutions, a.deletions, a.insertions, a.referenceWords]).toEqual([0, 1, 1, 9]);
    expect(a.wer).toBeCloseTo(2 / 9, 10);
    const b = align('a b c', 'a x c');
    expect(b.ops.map((o) => o.op)).toEqual(['equal', 'substitute', 'equal']);
    expect(align('', 'x').wer).toBeNull();
  });
});
