// The ops console in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core): log in, see the seeded backlog, open a job, retry a failure group
// after its dry-run preview, check the A/B agreement figures, an inert XSS payload, the
// self-refreshing overview, and that no /ops page shows data before login. Saves a
// screenshot of each page to docs/ops/*.png (linked from docs/ops.md).
// .ci/run installs chromium; locally the file is skipped, saying so, when it is absent.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { type ApiServer, startApi } from '../../lib/server/server.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';
import { EXPECTED, insertJob, type Seeded, seedConsole, T1 } from './seed.ts';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => Boolean(p && existsSync(p)),
);
if (!CHROMIUM && process.env.OPS_BROWSER_REQUIRED) {
  throw new Error('OPS_BROWSER_REQUIRED is set (.ci/run) but no Chromium was found');
}
if (!CHROMIUM) {
  console.warn(
    'test/ops/browser.test.ts SKIPPED: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH); .ci/run installs it',
  );
}
const TOKEN = 'browser-test-token-abcdef';
const SHOTS = 'docs/ops';

describe.skipIf(!CHROMIUM)('ops console in headless Chromium', () => {
  let t: TestDb;
  let server: ApiServer;
  let browser: Browser;
  let page: Page;
  let base: string;
  let seeded: Seeded;
  const shot = (name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    t = await freshDb(hasServer ? 'pg' : 'pglite');
    seeded = await seedConsole(t.db);
    const config = loadConfig({ LOG_LEVEL: 'silent', AI_SERVICE_TOKEN: TOKEN });
    server = await startApi(config, t.db, silentLogger, { port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${server.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    // Any dialog (alert from an injected script) fails the XSS check below.
    page.on('dialog', (d) => {
      throw new Error(`unexpected dialog: ${d.message()}`);
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.cleanup();
  });

  it('redirects every page to the login without showing data', async () => {
    for (const p of [
      '/ops',
      '/ops/jobs',
      `/ops/jobs/${seeded.failedIds[0]}`,
      '/ops/failures',
      '/ops/ab',
      '/ops/usage',
    ]) {
      const res = await page.goto(base + p);
      expect(new URL(page.url()).pathname, p).toBe('/ops/login');
      expect(res?.status()).toBe(200);
      const body = await page.content();
      for (const leak of ['provider_unavailable', 'lead/f0', 'gpu-worker', 'whisperx', 'crm']) {
        expect(body, `${p} leaks ${leak}`).not.toContain(leak);
      }
    }
    await shot('login');
  });

  it('logs in and shows the seeded backlog', async () => {
    await page.goto(`${base}/ops`);
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(`${base}/ops`), page.click('#login button[type=submit]')]);
    const rows = await page.$$eval('#backlog tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())),
    );
    expect(rows).toContainEqual(['llm_chat', 'qwen2.5-14b', '3', '3', '1', expect.any(String)]);
    expect(rows).toContainEqual(['transcribe', 'whisperx', '2', '2', '0', expect.any(String)]);
    expect(await page.textContent('#expired')).toContain('gpu-worker-7');
    expect(await page.$$('figure.chart svg')).toHaveLength(2);
    await shot('overview');
  });

  it('refreshes the overview in place when the backlog changes', async () => {
    const before = await page.textContent('#q-pending');
    await page.evaluate(() => {
      (window as unknown as { __marker: number }).__marker = 1;
    });
    await insertJob(t.db, {
      owner_service: 'crm',
      owner_ref: 'lead/new',
      task_type: 'llm_chat',
      model_profile: 'qwen2.5-14b',
      status: 'pending',
    });
    await page.waitForFunction((b) => document.getElementById('q-pending')?.textContent !== b, before, {
      timeout: 12_000,
    });
    // Same document: no reload happened.
    expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(1);
    expect(Number(await page.textContent('#q-pending'))).toBe(Number(before) + 1);
  });

  it('lists and opens a job', async () => {
    await page.goto(`${base}/ops/jobs?status=failed`);
    await shot('jobs');
    await Promise.all([
      page.waitForURL(/\/ops\/jobs\/[0-9a-f-]{36}$/),
      page.click(`a[href="/ops/jobs/${seeded.failedIds[0]}"]`),
    ]);
    expect(await page.textContent('#job-error')).toContain('provider_unavailable');
    expect(await page.textContent('#job')).toContain('gpu-worker-1');
    expect(await page.$eval('details.json', (d) => (d as HTMLDetailsElement).open)).toBe(false);
    await shot('job');
  });

  it('renders an XSS payload as inert text', async () => {
    await page.goto(`${base}/ops/jobs/${seeded.xssId}`);
    await page.click('details.json summary');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.textContent('#job')).toContain('<script>window.__xss = 1</script>');
    await page.goto(`${base}/ops/jobs?owner_service=xss`);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.textContent('#jobs')).toContain('<script>');
    expect(await page.$$('#jobs script, #jobs img')).toHaveLength(0);
  });

  it('retries a failure group after the dry-run preview; the jobs are pending', async () => {
    await page.goto(`${base}/ops/failures`);
    await shot('failures');
    const row = page.locator('tr[data-group="provider_unavailable|llm_chat|qwen2.5-14b"]');
    expect(await row.locator('td').nth(3).textContent()).toBe('3');
    await Promise.all([page.waitForURL(`${base}/ops/actions`), row.locator('button.retry').click()]);
    expect(await page.textContent('#dry-count')).toBe('3');
    const ids = await page.$$eval('#dry-ids a', (as) => as.map((a) => a.textContent));
    expect(ids.sort()).toEqual([...seeded.failedIds].sort());
    await shot('retry-preview');
    // Still failed until confirmed.
    const st = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'failed' AND error_category = 'provider_unavailable'`,
    );
    expect(st.rows[0]!.n).toBe(3);
    await Promise.all([page.waitForNavigation(), page.click('#confirm')]);
    expect(await page.textContent('#done-count')).toBe('3');
    await Promise.all([page.waitForNavigation(), page.click('#view-jobs')]);
    const statuses = await page.$$eval('#jobs tbody tr td:nth-child(2)', (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(statuses).toEqual(['pending', 'pending', 'pending']);
  });

  it('computes the A/B figures and agreement for transcripts with known WER', async () => {
    await page.goto(`${base}/ops/ab`);
    const cell = (p: string, r: string) =>
      page.getAttribute(`#ab-matrix td[data-cell="${p}|${r}"]`, 'data-value');
    expect(Number(await cell('voxtral', 'whisperx'))).toBeCloseTo(EXPECTED.voxtralVsWhisperx, 4);
    expect(Number(await cell('qwen', 'whisperx'))).toBeCloseTo(EXPECTED.qwenVsWhisperx, 4);
    expect(Number(await cell('whisperx', 'voxtral'))).toBeCloseTo(EXPECTED.voxtralVsWhisperx, 4);
    const providers = await page.$$eval('#ab-providers tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    const byName = Object.fromEntries(providers.map((r) => [r[0], r]));
    expect(byName['whisperx']![5]).toBe('100.0%');
    expect(byName['qwen']![5]).toBe('50.0%');
    expect(byName['qwen']![9]).toContain('timeout 1');
    expect(byName['whisperx']![6]).toBe(`${EXPECTED.whisperxP50.toLocaleString('en-US')} ms`);
    expect(Number(byName['voxtral']![8])).toBeCloseTo(EXPECTED.rtf.voxtral, 3);
    await page.selectOption('#job-picker', seeded.abJob1);
    await Promise.all([page.waitForNavigation(), page.click('form:has(#job-picker) button')]);
    const computed = async (p: string) =>
      Number(await page.getAttribute(`.col[data-provider="${p}"] b.computed`, 'data-value'));
    expect(await computed('voxtral')).toBeCloseTo(EXPECTED.job1.voxtral, 4);
    expect(await computed('qwen')).toBeCloseTo(EXPECTED.job1.qwen, 4);
    expect(await page.textContent('.col[data-provider="voxtral"] ins')).toBe('jumped');
    expect(await page.textContent('.col[data-provider="qwen"] del')).toBe('The');
    expect(await page.textContent('#sbs')).toContain(T1.whisperx);
    await shot('ab');
  });

  it('shows usage per owner_service × model_profile', async () => {
    await page.goto(`${base}/ops/usage`);
    const rows = await page.$$eval('#usage tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    const crm = rows.find((r) => r[0] === 'crm')!;
    expect(crm.slice(4, 6)).toEqual([String(EXPECTED.usage.crmPrompt), String(EXPECTED.usage.crmCompletion)]);
    expect(crm[7]).toBe(EXPECTED.usage.crmBusyAfterRetry.toFixed(1));
    expect(rows.find((r) => r[0] === 'telephony')![6]).toBe(EXPECTED.usage.telephonyAudio.toFixed(1));
    await shot('usage');
  });
});
