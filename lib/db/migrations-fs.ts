// Reads the migration files from disk (Node only: scripts, the Node adapter, workers).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { applyMigrations, type Migration } from './migrate.ts';
import { MIGRATIONS } from './migrations.ts';
import type { Db } from './port.ts';

// From the source tree (lib/db/) the files are two levels up; in a bundle (dist/*.mjs)
// the build copies them beside it.
const CANDIDATES = ['../../migrations/', './migrations/'].map((rel) =>
  fileURLToPath(new URL(rel, import.meta.url)),
);
const DEFAULT_DIR = CANDIDATES.find((d) => existsSync(`${d}${MIGRATIONS[0]}`)) ?? CANDIDATES[0]!;

export async function loadMigrations(dir = process.env.MIGRATIONS_DIR ?? DEFAULT_DIR): Promise<Migration[]> {
  return Promise.all(
    MIGRATIONS.map(async (name) => ({
      name,
      sql: await readFile(`${dir.replace(/\/?$/, '/')}${name}`, 'utf8'),
    })),
  );
}

export async function migrate(db: Db): Promise<string[]> {
  return applyMigrations(db, await loadMigrations());
}
