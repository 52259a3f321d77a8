// The API process on SIGTERM: stops accepting, answers what is in flight (a long-poll
// is woken rather than held for its whole wait), closes the pool, exits 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createServerDatabase, hasServer } from '../support/db.ts';

/** The port the API chose (HTTP_PORT=0), from its 'api listening' log line. */
function listeningPort(child: ChildProcess, ms = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`API did not start: ${buf}`)), ms);
    child.stdout!.on('data', (chunk) => {
      buf += chunk;
      for (const line of buf.split('\n')) {
        if (!line.includes('"api listening"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
  });
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
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/api.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${await listeningPort(child)}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
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
