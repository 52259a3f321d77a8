// Where the CPU goes during a run: this Node process (process.cpuUsage) and the
// PostgreSQL backends serving the benchmark's database (utime+stime from /proc, Linux).
import { readFileSync } from 'node:fs';
import pg from 'pg';

export const TICK_MS = 10; // USER_HZ = 100 on Linux

export function ticks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

export interface CpuUse {
  nodeMs: number;
  /** CPU of a child process (the API server in the HTTP burn-down). */
  childMs?: number;
  pgMs: number;
  wallMs: number;
}

export interface CpuMeter {
  /** Call at the end while the backends are still connected. */
  stop(): Promise<CpuUse>;
}

/** Backends of `database` (plus PostgreSQL's own background processes, e.g. the WAL writer). */
async function backendPids(c: pg.Client, database: string): Promise<number[]> {
  const r = await c.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
    [database],
  );
  return r.rows.map((x) => x.pid);
}

export async function startCpu(adminUrl: string, database: string, childPid?: number): Promise<CpuMeter> {
  const c = new pg.Client({ connectionString: adminUrl, application_name: 'aisvc-bench-cpu' });
  await c.connect();
  const t0 = performance.now();
  const node0 = process.cpuUsage();
  const child0 = childPid ? (ticks(childPid) ?? 0) : 0;
  const start = new Map<number, number>();
  for (const pid of await backendPids(c, database)) start.set(pid, ticks(pid) ?? 0);
  return {
    async stop() {
      const wallMs = performance.now() - t0;
      const node = process.cpuUsage(node0);
      let pgTicks = 0;
      for (const pid of await backendPids(c, database)) {
        const now = ticks(pid);
        if (now !== null) pgTicks += now - (start.get(pid) ?? 0);
      }
      await c.end();
      const child = childPid ? ((ticks(childPid) ?? child0) - child0) * TICK_MS : undefined;
      return {
        nodeMs: (node.user + node.system) / 1000,
        ...(child !== undefined && { childMs: child }),
        pgMs: pgTicks * TICK_MS,
        wallMs,
      };
    },
  };
}

export function describeCpu(cpu: CpuUse, jobs: number): string {
  const part = (label: string, x: number) =>
    `${label} ${((x / jobs) * 1000).toFixed(1)} µs/job (${((x / cpu.wallMs) * 100).toFixed(0)}% of a core)`;
  return [
    part('CPU: this node process', cpu.nodeMs),
    ...(cpu.childMs !== undefined ? [part('API server process', cpu.childMs)] : []),
    part('PostgreSQL backends', cpu.pgMs),
  ].join(', ');
}
