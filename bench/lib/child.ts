// Servers under load run in their own Node process, so the load generator (autocannon,
// the external worker loops) does not share their event loop. The child prints
// `READY <port>` once it listens.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Child {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export const BENCH_DIR = fileURLToPath(new URL('../', import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Starts `bench/servers/<script>` under tsx with the given environment; `root` runs another
 * checkout's copy instead (an A/B of the server code in one run, e.g. bench/external.ts --base).
 */
export function startServer(
  script: string,
  env: Record<string, string>,
  opts: { timeoutMs?: number; nodeArgs?: string[]; root?: string } = {},
): Promise<Child> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const root = opts.root ? `${opts.root.replace(/\/$/, '')}/` : ROOT_DIR;
  const proc = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), '--import', 'tsx', `${root}bench/servers/${script}`],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${script} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited early with code ${code}`));
    });
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /READY (\d+)/.exec(buf);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      proc.stdout!.removeAllListeners('data');
      proc.stdout!.resume();
      resolve({
        port: Number(m[1]),
        proc,
        stop: () =>
          new Promise<void>((res) => {
            if (proc.exitCode !== null) return res();
            const kill = setTimeout(() => proc.kill('SIGKILL'), 5_000);
            proc.once('exit', () => {
              clearTimeout(kill);
              res();
            });
            proc.kill('SIGTERM');
          }),
      });
    });
  });
}
