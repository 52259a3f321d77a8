// One process per embedded database directory. PGlite is PostgreSQL in this process's
// memory, writing to its directory; a second process opening the same directory gets
// its own copy, and the two overwrite each other's files (jobs were lost with two
// `npm start`s in one checkout). So the directory is locked by a file beside it,
// `<dir>.lock`, holding the owner's pid: created exclusively, removed on close or exit,
// and taken over when its pid is no longer alive (a killed process leaves it behind).
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

export class DataDirLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
  command: string;
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function readLock(path: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : null;
  } catch {
    return null; // half-written or unreadable: treated as stale below
  }
}

/**
 * Locks `dataDir` for this process or throws DataDirLockedError naming the holder.
 * `onStale` is told when a lock left by a dead process is taken over.
 */
export function lockDataDir(dataDir: string, onStale?: (info: LockInfo | null) => void): DataDirLock {
  const path = `${dataDir.replace(/\/+$/, '')}.lock`;
  const mine: LockInfo = {
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${JSON.stringify(mine)}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const held = readLock(path);
    if (held && (held.host !== mine.host || alive(held.pid))) {
      const where = held.host === mine.host ? `pid ${held.pid}` : `pid ${held.pid} on host ${held.host}`;
      throw new DataDirLockedError(
        `The embedded database ${dataDir} is in use by another process (${where}, started ${held.started_at}` +
          `${held.command ? `: ${held.command}` : ''}). Two processes on one PGlite directory lose data. ` +
          `Stop that process first, or point this one elsewhere with DATABASE_URL ` +
          `(pglite:<another dir>, or postgres://… to share one PostgreSQL). ` +
          `If that pid is not an ai-service process, delete ${path}.`,
      );
    }
    onStale?.(held);
    try {
      unlinkSync(path);
    } catch {
      // another process removed it first; the exclusive create decides
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // Only our own lock: never remove one a successor took over.
    if (readLock(path)?.pid === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', release);
  return { path, release };
}
