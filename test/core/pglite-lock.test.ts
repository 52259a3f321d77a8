// Issue 10, defect 6: two `npm start`s in one checkout must not share the embedded
// database. The second process refuses, naming the holder; a lock left by a killed
// process is taken over. Real processes: the lock is about processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir } from '../../lib/db/pglite-lock.ts';

let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aisvc-lock-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function start(dataDir: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: `pglite:${dataDir}`,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      WORKER_HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function until(cond: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one process per embedded database directory', () => {
  it('a second npm start on the same .data/pglite refuses, naming the pid that holds it', async () => {
    const data = join(dir, 'pglite');
    const first = start(data);
    // The lock is taken before PGlite opens the directory; no need to wait for initdb.
    await until(() => existsSync(`${data}.lock`), 20_000);
    // Defect 7: the ~20 s first start says what it is doing.
    expect(first.output()).toContain(`creating the embedded database in ${data} (first start only`);
    const second = start(data);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`in use by another process (pid ${first.child.pid}`);
    expect(second.output()).toContain('DATABASE_URL');
    expect(second.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(first.child.exitCode).toBeNull(); // the first one is untouched
    first.child.kill('SIGKILL');
    await first.exited;
  }, 60_000);

  it('a lock left by a dead process is taken over; a live holder is refused', async () => {
    const data = join(dir, 'stale');
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.on('exit', r));
    const info = { pid: gone.pid, host: (await import('node:os')).hostname(), started_at: 'x', command: 'x' };
    writeFileSync(`${data}.lock`, JSON.stringify(info));
    const stale: unknown[] = [];
    const lock = lockDataDir(data, (held) => stale.push(held?.pid));
    expect(stale).toEqual([gone.pid]);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    // Now this process holds it: a live pid, so a second taker is refused.
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    children.push(holder);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    writeFileSync(`${data}.lock`, JSON.stringify({ ...info, pid: holder.pid }));
    expect(() => lockDataDir(data)).toThrow(DataDirLockedError);
    expect(() => lockDataDir(data)).toThrow(`pid ${holder.pid}`);
    holder.kill('SIGKILL');
  });
});
