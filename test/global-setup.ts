// Runs once before the suite: builds the migrated PGlite template that every embedded
// test database is loaded from (creating a PGlite is ~3.5 s; loading a dump ~0.3 s), and,
// without TEST_DATABASE_URL, says which suites that skips: a green run on PGlite alone
// has not exercised LISTEN across connections, concurrent claims or the pg/Neon drivers.
// It also gives the run an empty directory for the edge build the bundle suites share
// (test/support/edge-build.ts), removed afterwards.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrate } from '../lib/db/migrations-fs.ts';
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

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!hasServer) {
    const skipped = await serverOnlySuites();
    process.stderr.write(
      `\nTEST_DATABASE_URL is unset: running on PGlite only. Skipped (${skipped.length}):\n` +
        skipped.map((s) => `  - ${s}\n`).join('') +
        'Set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run them.\n\n',
    );
  }
  const db = await openPglite();
  await migrate(db);
  const dump = await db.pglite.dumpDataDir('gzip');
  await mkdir('.data', { recursive: true });
  await writeFile(PGLITE_TEMPLATE, Buffer.from(await dump.arrayBuffer()));
  await db.close();
  const edgeBuildDir = await mkdtemp(join(tmpdir(), 'aisvc-edge-build-'));
  project.provide('edgeBuildDir', edgeBuildDir);
  return () => rm(edgeBuildDir, { recursive: true, force: true });
}
