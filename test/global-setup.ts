// Runs once before the suite: builds the migrated PGlite template that every embedded
// test database is loaded from (creating a PGlite is ~3.5 s; loading a dump ~0.3 s).
import { mkdir, writeFile } from 'node:fs/promises';
import { migrate } from '../lib/db/migrations-fs.ts';
import { openPglite } from '../lib/db/pglite.ts';
import { PGLITE_TEMPLATE } from './support/db.ts';

export default async function setup(): Promise<void> {
  const db = await openPglite();
  await migrate(db);
  const dump = await db.pglite.dumpDataDir('gzip');
  await mkdir('.data', { recursive: true });
  await writeFile(PGLITE_TEMPLATE, Buffer.from(await dump.arrayBuffer()));
  await db.close();
}
