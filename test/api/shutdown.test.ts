// The API process on SIGTERM: stops accepting, answers what is in flight (a long-poll
// is woken rather than held for its whole wait), closes the pool, exits 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createServerDatabase, hasServer } from '../support/db.ts';

const PORT = 18000 + (process.pid % 1000);

async function waitReady(url: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready: ${url}`);
}

describe('API process shutdown', () => {
  let child: ChildProcess | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    child?.kill('SIGKILL');
    await drop?.();
  });

  it('SIGTERM answers the in-flight long-poll and exits 0', async () => {
    let databaseUrl = 'pglite:memory';
    if (hasServer) {
      const created = await createServerDatabase();
      databaseUrl = created.url;
      drop = created.drop;
    }
    child = spawn(process.execPath, ['--import', 'tsx', 'lib/server/main.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        HTTP_PORT: String(PORT),
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${PORT}`;
    await waitReady(`${base}/readyz`);
    const created = await (
      await fetch(`${base}/api/v1/jobs`, {
        method: 'POST',
        body: JSON.stringify({
          owner_service: 's',
          owner_ref: 'r',
          task_type: 't',
          model_profile: 'm',
          input: {},
        }),
      })
    ).json();
    const t0 = Date.now();
    const poll = fetch(`${base}/api/v1/jobs/${created.id}?wait=30s`).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const answered = await poll;
    expect(answered).toMatchObject({ status: 200, body: { id: created.id, status: 'pending' } });
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  }, 60_000);
});
