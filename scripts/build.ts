// npm run build:
//   dist/functions/<name>.mjs — one bundle per endpoint for edge/function platforms
//     (ESM, Web platform, `export default { fetch }`, the Neon driver inside). The build
//     fails if a bundle pulls in a Node-only module or outgrows the size budget.
//   dist/server.mjs, dist/worker.mjs, dist/reap.mjs, dist/migrate.mjs — the Node entry
//     points for the container image (node_modules stay external), with the migrations
//     copied beside them.
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { FunctionDef } from '../lib/http/define.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Per-bundle budget (minified, uncompressed). The floor is hono (~25 KB) + the Neon
 * driver with its bundled pg protocol code (~190 KB) + zod/mini schemas (~40 KB); the
 * budget leaves room for growth while catching an accidental heavy import (classic zod
 * alone is ~450 KB). Workers' free plan allows 3 MB compressed, so this is about cold
 * start, not platform limits.
 */
export const BUNDLE_BUDGET_BYTES = 400 * 1024;
/** Modules that must never reach an edge bundle. */
const FORBIDDEN = [
  /node_modules\/pg\//,
  /node_modules\/pg-pool\//,
  /undici/,
  /pino/,
  /prom-client/,
  /@electric-sql\/pglite/,
  /^node:/,
];

export const NODE_ENTRIES = {
  server: 'scripts/api.ts',
  worker: 'scripts/worker.ts',
  reap: 'scripts/reap-leases.ts',
  migrate: 'scripts/migrate.ts',
} as const;

async function functionFiles(dir = path.join(root, 'functions')): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await functionFiles(p)));
    else if (e.name.endsWith('.ts') && !['routes.ts', 'index.ts'].includes(e.name)) out.push(p);
  }
  return out.sort();
}

export interface BundleReport {
  name: string;
  file: string;
  bytes: number;
  gzip: number;
}

/** A bundle's entry: the function and the adapter, with the Neon driver only when it queries. */
function entrySource(file: string, def: FunctionDef): string {
  const lines = [
    `import fn from ${JSON.stringify(file)};`,
    `import { edgeHandler } from ${JSON.stringify(path.join(root, 'lib/edge/adapter.ts'))};`,
  ];
  if (def.db === false) lines.push('export default edgeHandler(fn);');
  else
    lines.push(
      `import { openEdgeDb } from ${JSON.stringify(path.join(root, 'lib/edge/neon.ts'))};`,
      'export default edgeHandler(fn, openEdgeDb);',
    );
  return `${lines.join('\n')}\n`;
}

/**
 * All bundles in one esbuild call: each is still a self-contained file (no shared chunks),
 * but hono, zod and the Neon driver are parsed once instead of once per bundle (~4x
 * faster than a build per bundle, same output).
 */
async function buildFunctions(files: string[], dist: string): Promise<BundleReport[]> {
  const defs = await Promise.all(files.map(async (f) => (await import(f)).default as FunctionDef));
  const result = await esbuild.build({
    entryPoints: defs.map((def, i) => ({ in: `entry:${i}`, out: def.name })),
    plugins: [
      {
        name: 'function-entries',
        setup(b) {
          b.onResolve({ filter: /^entry:\d+$/ }, (a) => ({ path: a.path, namespace: 'entry' }));
          b.onLoad({ filter: /.*/, namespace: 'entry' }, (a) => {
            const i = Number(a.path.slice('entry:'.length));
            return { contents: entrySource(files[i]!, defs[i]!), resolveDir: root, loader: 'ts' };
          });
        },
      },
    ],
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    minify: true,
    metafile: true,
    legalComments: 'none',
    outdir: path.join(dist, 'functions'),
    outExtension: { '.js': '.mjs' },
    logLevel: 'error',
  });
  const outputs = new Map(
    Object.entries(result.metafile.outputs).map(([k, v]) => [path.resolve(root, k), v]),
  );
  const { gzipSync } = await import('node:zlib');
  return Promise.all(
    defs.map(async (def) => {
      const file = path.join(dist, 'functions', `${def.name}.mjs`);
      const output = outputs.get(file);
      if (!output) throw new Error(`${def.name}: esbuild wrote no ${file}`);
      const bad = Object.keys(output.inputs).filter((i) => FORBIDDEN.some((re) => re.test(i)));
      if (bad.length)
        throw new Error(`${def.name}: edge bundle pulls in Node-only modules: ${bad.join(', ')}`);
      if (output.bytes > BUNDLE_BUDGET_BYTES)
        throw new Error(`${def.name}: ${output.bytes} bytes exceeds the ${BUNDLE_BUDGET_BYTES}-byte budget`);
      const gzip = gzipSync(await readFile(file)).byteLength;
      return { name: def.name, file, bytes: output.bytes, gzip };
    }),
  );
}

async function buildNode(dist: string): Promise<void> {
  await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(NODE_ENTRIES).map(([k, v]) => [k, path.join(root, v)])),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir: dist,
    outExtension: { '.js': '.mjs' },
    logLevel: 'error',
  });
  await cp(path.join(root, 'migrations'), path.join(dist, 'migrations'), { recursive: true });
}

/** Builds into `dist` (default ./dist); tests pass a temporary directory. */
export async function build(
  dist = path.join(root, 'dist'),
  opts: { node?: boolean } = {},
): Promise<BundleReport[]> {
  await rm(dist, { recursive: true, force: true });
  await mkdir(path.join(dist, 'functions'), { recursive: true });
  const reports = await buildFunctions(await functionFiles(), dist);
  if (opts.node ?? true) await buildNode(dist);
  await writeFile(path.join(dist, 'functions', 'sizes.json'), `${JSON.stringify(reports, null, 2)}\n`);
  return reports;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const t0 = Date.now();
  const reports = await build();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`.padStart(10);
  console.log(`${'bundle'.padEnd(28)}${'minified'.padStart(10)}${'gzip'.padStart(10)}`);
  for (const r of reports) console.log(`${r.name.padEnd(28)}${kb(r.bytes)}${kb(r.gzip)}`);
  console.log(
    `budget ${kb(BUNDLE_BUDGET_BYTES).trim()} per bundle; node entries: ${Object.keys(NODE_ENTRIES)
      .map((k) => `dist/${k}.mjs`)
      .join(', ')}; ${Date.now() - t0} ms`,
  );
}
