// Issue 10, defect 7: start-up problems are messages a person can act on. A bad or
// unreachable DATABASE_URL names the variable, the host (never the password) and the
// likely fix; the API exits 1, the worker keeps retrying with one explained line per
// attempt; LOG_LEVEL=verbose lists the allowed values. Real processes, real sockets.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../support/db.ts';

function start(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { PATH: process.env.PATH, HTTP_PORT: '0', WORKER_HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => ({ stdout, stderr }) };
}
const run = async (script: string, env: Record<string, string>) => {
  const p = start(script, env);
  const code = await p.exited;
  return { code, ...p.out() };
};
const noStack = /\n\s+at /;

describe('start-up messages', () => {
  it('the API on an unreachable DATABASE_URL: exit 1, the variable, the host, the fix, no password', async () => {
    const r = await run('scripts/api.ts', {
      DATABASE_URL: 'postgres://alice:s3cr3t-pw@127.0.0.1:1/jobs',
      LOG_LEVEL: 'warn',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DATABASE_URL=postgres://alice@127.0.0.1:1/jobs');
    expect(r.stderr).toContain('connection refused');
    expect(r.stderr).toMatch(/is PostgreSQL running/);
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw');
    expect(r.stderr).not.toMatch(noStack);
  });

  it('the API on a DATABASE_URL that is not a database URL: exit 1, what to write instead', async () => {
    const r = await run('scripts/api.ts', {
      DATABASE_URL: 'mysql://bob:hunter2@db.internal/x',
      LOG_LEVEL: 'warn',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DATABASE_URL=mysql://bob@db.internal/x is not usable');
    expect(r.stderr).toContain('postgres://user:password@host:5432/database');
    expect(r.stderr + r.stdout).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(noStack);
  });

  it('LOG_LEVEL=verbose lists the allowed values', async () => {
    const r = await run('scripts/api.ts', { LOG_LEVEL: 'verbose' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'LOG_LEVEL: one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    );
  });

  it('the worker on an unreachable database keeps retrying, one explained line per attempt', async () => {
    const w = start('scripts/worker.ts', {
      DATABASE_URL: 'postgres://alice:s3cr3t-pw@127.0.0.1:1/jobs',
      LOG_LEVEL: 'error',
    });
    const attempts = () =>
      w
        .out()
        .stdout.split('\n')
        .filter((l) => l.includes('cannot reach PostgreSQL at 127.0.0.1:1'))
        .map((l) => JSON.parse(l) as { attempt: number; msg: string });
    const end = Date.now() + 25_000;
    while (attempts().length < 2 && Date.now() < end && w.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(w.child.exitCode).toBeNull(); // still running
    const lines = attempts();
    expect(lines.map((l) => l.attempt).slice(0, 2)).toEqual([1, 2]);
    expect(lines[0]!.msg).toMatch(/DATABASE_URL=postgres:\/\/alice@127\.0\.0\.1:1\/jobs.*retrying$/);
    expect(w.out().stdout + w.out().stderr).not.toContain('s3cr3t-pw');
    // Besides the attempts, at most the runner's one "database unreachable" line.
    const errors = w
      .out()
      .stdout.split('\n')
      .filter((l) => l.includes('"level":"error"') && !l.includes('cannot reach PostgreSQL'));
    expect(errors.length).toBeLessThanOrEqual(1);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 40_000);

  it.skipIf(!TEST_DATABASE_URL)(
    'the API on a database that does not exist says how to create it',
    async () => {
      const u = new URL(TEST_DATABASE_URL!);
      u.pathname = '/aisvc_no_such_db';
      const r = await run('scripts/api.ts', { DATABASE_URL: u.toString(), LOG_LEVEL: 'warn' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('database "aisvc_no_such_db" does not exist');
      expect(r.stderr).toContain('createdb aisvc_no_such_db');
    },
  );
});
