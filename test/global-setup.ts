// Runs once before the suite: builds the migrated PGlite template that every embedded
// test database is loaded from (creating a PGlite is ~3.5 s; loading a dump ~0.3 s) —
// unless the one in .data was made from the same migrations, migrator and PGlite — and,
// without TEST_DATABASE_URL, says which suites that skips: a green run on PGlite alone
// has not exercised LISTEN across connections, concurrent claims or the pg/Neon drivers.
// It also gives the run an empty directory for the edge build the bundle suites share
// (test/support/edge-build.ts), removed afterwards.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadMigrations, migrate } from '../lib/db/migrations-fs.ts';
import { openPglite } from '../lib/db/pglite.ts';
import { hasServer, PGLITE_TEMPLATE } from './support/db.ts';

/** Suites gated on a real server, found in the test files themselves. */
async function serverOnlySuites(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<string[]> =>
    (
      await Promise.all(
        (
          await readdir(dir, { withFileTypes: true })
        ).map((e) =>
          e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
        ),
      )
    ).flat();
  for (const file of (await walk('test')).sort()) {
    const text = await readFile(file, 'utf8');
    const gated =
      /(?:describe|it)\.skipIf\(!(?:hasServer|TEST_DATABASE_URL)\)(?:\.each\([^)]*\))?\(\s*(['"`])(.*?)\1/g;
    for (const m of text.matchAll(gated)) found.push(`${file}: ${m[2]}`);
    if (/\bDRIVERS\b/.test(text)) found.push(`${file}: its pg and neon driver variants (PGlite only)`);
  }
  return found;
}

/** What the template is made from: a different key, a new template. */
async function templateKey(): Promise<string> {
  const h = createHash('sha256');
  for (const m of await loadMigrations()) h.update(`${m.name}\0${m.sql}\0`);
  for (const f of ['lib/db/migrate.ts', 'lib/db/pglite.ts', 'node_modules/@electric-sql/pglite/package.json'])
    h.update(`${f}\0${await readFile(f, 'utf8')}\0`);
  return h.digest('hex');
}

async function ensurePgliteTemplate(): Promise<void> {
  const key = await templateKey();
  const keyFile = `${PGLITE_TEMPLATE}.key`;
  if ((await readFile(keyFile, 'utf8').catch(() => '')) === key) return;
  const db = await openPglite();
  await migrate(db);
  const dump = await db.pglite.dumpDataDir('gzip');
  await db.close();
  await mkdir('.data', { recursive: true });
  // Renamed into place, key last: a run started meanwhile never loads half a file.
  const tmp = `${PGLITE_TEMPLATE}.${process.pid}`;
  await writeFile(tmp, Buffer.from(await dump.arrayBuffer()));
  await rename(tmp, PGLITE_TEMPLATE);
  await writeFile(`${keyFile}.${process.pid}`, key);
  await rename(`${keyFile}.${process.pid}`, keyFile);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!hasServer) {
    const skipped = await serverOnlySuites();
    process.stderr.write(
      `\nTEST_DATABASE_URL is unset: running on PGlite only. Skipped (${skipped.length}):\n` +
        skipped.map((s) => `  - ${s}\n`).join('') +
        'Set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run them.\n\n',
    );
  }
  await ensurePgliteTemplate();
  const edgeBuildDir = await mkdtemp(join(tmpdir(), 'aisvc-edge-build-'));
  project.provide('edgeBuildDir', edgeBuildDir);
  return () => rm(edgeBuildDir, { recursive: true, force: true });
}
