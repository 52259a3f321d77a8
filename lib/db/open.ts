// Chooses a driver from DATABASE_URL for Node processes (API adapter, workers, scripts):
//   postgres://… or postgresql://…   → pg (TCP pool)
//   neon+ws://… / ?driver=neon         → Neon WebSocket Pool (mainly to test the edge path)
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
      if (target.dataDir) {
        const { mkdir } = await import('node:fs/promises');
        await mkdir(target.dataDir, { recursive: true });
      }
      return openPglite({ dataDir: target.dataDir });
    }
    case 'neon': {
      const { openNeon } = await import('./neon.ts');
      const { WebSocket } = await import('ws');
      return openNeon(target.url, { webSocketConstructor: WebSocket, max: opts.poolMax });
    }
  }
}
