// Chooses a driver from DATABASE_URL for Node processes (API adapter, workers, scripts):
//   postgres://… or postgresql://…   → pg (TCP pool)
//   postgres://…?driver=neon          → Neon's WebSocket Pool, wss:// to the URL's host as Neon
//                                        serves it (the parameter is dropped from the URL). There
//                                        is no neon+ws:// scheme; plain-ws proxies are test-only
//                                        (test/support/db.ts passes wsProxy/secure to openNeon).
//   pglite:<dir> | pglite:memory | unset → embedded PGlite
// Edge bundles never import this file; they open the Neon driver directly.
import type { Db } from './port.ts';

export const DEFAULT_PGLITE_DIR = '.data/pglite';

export type DbTarget =
  | { driver: 'pg'; url: string }
  | { driver: 'pglite'; dataDir: string | undefined }
  | { driver: 'neon'; url: string };

export function resolveDbTarget(databaseUrl: string | undefined): DbTarget {
  if (!databaseUrl) return { driver: 'pglite', dataDir: DEFAULT_PGLITE_DIR };
  if (databaseUrl.startsWith('pglite:')) {
    const rest = databaseUrl.slice('pglite:'.length).replace(/^\/\//, '');
    return { driver: 'pglite', dataDir: rest === '' || rest === 'memory' ? undefined : rest };
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const u = new URL(databaseUrl);
    if (u.searchParams.get('driver') === 'neon') {
      u.searchParams.delete('driver');
      return { driver: 'neon', url: u.toString() };
    }
    return { driver: 'pg', url: databaseUrl };
  }
  throw new Error('DATABASE_URL must start with postgres://, postgresql:// or pglite:');
}

export interface OpenDbOptions {
  poolMax?: number;
  /** Progress notes worth a log line (e.g. a stale PGlite lock taken over). */
  log?: (message: string) => void;
  onError?: (err: Error) => void;
  applicationName?: string;
}

export async function openDb(databaseUrl: string | undefined, opts: OpenDbOptions = {}): Promise<Db> {
  const target = resolveDbTarget(databaseUrl);
  switch (target.driver) {
    case 'pg': {
      const { openPg } = await import('./pg.ts');
      return openPg(target.url, {
        max: opts.poolMax,
        onError: opts.onError,
        applicationName: opts.applicationName,
      });
    }
    case 'pglite': {
      const { openPglite } = await import('./pglite.ts');
      if (!target.dataDir) return openPglite();
      const { mkdir } = await import('node:fs/promises');
      const { lockDataDir } = await import('./pglite-lock.ts');
      await mkdir(target.dataDir, { recursive: true });
      // Before opening: a second process must be refused before it touches the files.
      const lock = lockDataDir(target.dataDir, (held) =>
        opts.log?.(
          `removing a stale lock on ${target.dataDir} left by pid ${held?.pid ?? '?'} (no longer running)`,
        ),
      );
      try {
        const db = await openPglite({ dataDir: target.dataDir });
        const close = db.close.bind(db);
        db.close = async () => {
          try {
            await close();
          } finally {
            lock.release();
          }
        };
        return db;
      } catch (err) {
        lock.release();
        throw err;
      }
    }
    case 'neon': {
      const { openNeon } = await import('./neon.ts');
      const { WebSocket } = await import('ws');
      return openNeon(target.url, { webSocketConstructor: WebSocket, max: opts.poolMax });
    }
  }
}
