// The edge bundles, built once per test run and shared by the suites that load them
// (test/build/bundles.test.ts in Node, test/deploy/workerd.test.ts in workerd). Test
// files run in separate processes, so the memo is on disk: test/global-setup.ts provides
// an empty directory for the run; the first file to ask takes a lock (an atomic mkdir)
// and runs `build()` there, the others wait for its report. Lazy, so a run without
// these suites builds nothing.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { type BundleReport, build } from '../../scripts/build.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** An empty directory for this run's edge build (test/global-setup.ts). */
    edgeBuildDir: string;
  }
}

export interface EdgeBuild {
  /** The build's output directory (functions/<name>.mjs). */
  dir: string;
  reports: BundleReport[];
}

type Outcome = { reports: BundleReport[] } | { error: string };

export async function edgeBuild(timeoutMs = 120_000): Promise<EdgeBuild> {
  const root = inject('edgeBuildDir');
  const dir = path.join(root, 'out');
  const done = path.join(root, 'outcome.json');
  const builder = await mkdir(path.join(root, 'lock')).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return false;
      throw err;
    },
  );
  let outcome: Outcome | undefined;
  if (builder) {
    outcome = await build(dir, { node: false }).then(
      (reports) => ({ reports }),
      (err: unknown) => ({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
    // Written whole, then renamed: a waiter never reads half a file.
    await writeFile(`${done}.tmp`, JSON.stringify(outcome));
    await rename(`${done}.tmp`, done);
  }
  for (const deadline = Date.now() + timeoutMs; !outcome; await sleep(100)) {
    outcome = (await readFile(done, 'utf8').then(JSON.parse, () => undefined)) as Outcome | undefined;
    if (!outcome && Date.now() > deadline) throw new Error(`no edge build in ${root} after ${timeoutMs} ms`);
  }
  if ('error' in outcome) throw new Error(`the edge build failed:\n${outcome.error}`);
  return { dir, reports: outcome.reports };
}
