// The OpenAPI document is generated at build time (scripts/build.ts): the openapi and docs
// bundles carry the finished JSON instead of the generator, zod's JSON Schema code, the
// response schemas and every other function — and serve exactly what the Node server (tsx, generated at run
// time) serves, byte for byte, imported on Node and loaded in workerd.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_FUNCTIONS } from '../../functions/index.ts';
import { loadConfig } from '../../lib/config/load.ts';
import { createApp } from '../../lib/http/app.ts';
import { type Deps, systemClock } from '../../lib/http/deps.ts';
import { noopMetrics, silentLogger } from '../../lib/telemetry/port.ts';
import { type BundleReport, build } from '../../scripts/build.ts';

type Bundle = { fetch(req: Request, env?: Record<string, string>): Promise<Response> };

let out: string;
let reports: BundleReport[];
let mf: Miniflare | undefined;

/** What the Node server answers (every function mounted, the document generated on first use). */
async function served(p: string): Promise<{ text: string; type: string | null }> {
  const deps = {
    config: loadConfig({ LOG_LEVEL: 'silent' }),
    clock: systemClock,
    log: silentLogger,
    metrics: noopMetrics,
    fetch,
    db: undefined as never,
  } satisfies Deps;
  const res = await createApp(ALL_FUNCTIONS, deps).fetch(new Request(`http://node${p}`));
  expect(res.status).toBe(200);
  return { text: await res.text(), type: res.headers.get('content-type') };
}

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'aisvc-openapi-'));
  reports = await build(out, { node: false, only: ['openapi', 'docs', 'healthz'] });
}, 120_000);
afterAll(async () => {
  await mf?.dispose();
  if (out) await rm(out, { recursive: true, force: true });
});

const report = (name: string) => {
  const r = reports.find((x) => x.name === name);
  if (!r) throw new Error(`no bundle ${name}`);
  return r;
};

describe('the OpenAPI document built at build time', () => {
  it('the build writes the document, and the openapi and docs bundles serve what the Node server serves', async () => {
    const node = await served('/api/v1/openapi.json');
    expect(JSON.parse(node.text).openapi).toBe('3.1.0');
    expect(await readFile(path.join(out, 'openapi.json'), 'utf8')).toBe(`${node.text}\n`);
    const html = await served('/docs');
    for (const [name, p, want] of [
      ['openapi', '/api/v1/openapi.json', node],
      ['docs', '/docs', html],
    ] as const) {
      const bundle = (await import(pathToFileURL(report(name).file).href)).default as Bundle;
      const res = await bundle.fetch(new Request(`https://edge.example${p}`), { LOG_LEVEL: 'silent' });
      expect([name, res.status, res.headers.get('content-type')]).toEqual([name, 200, want.type]);
      expect((await res.text()) === want.text, `${name} bundle answers the same bytes`).toBe(true);
    }
  });

  it('the same bytes in workerd', async () => {
    const node = await served('/api/v1/openapi.json');
    const html = await served('/docs');
    mf = new Miniflare({
      workers: ['openapi', 'docs'].map((name) => ({
        name,
        modules: true,
        modulesRoot: out,
        scriptPath: report(name).file,
        compatibilityDate: '2025-09-15',
        bindings: { LOG_LEVEL: 'silent' },
      })),
    });
    for (const [name, p, want] of [
      ['openapi', '/api/v1/openapi.json', node.text],
      ['docs', '/docs', html.text],
    ] as const) {
      const w = (await mf.getWorker(name)) as unknown as { fetch(url: string): Promise<Response> };
      const res = await w.fetch(`http://edge.test${p}`);
      expect([name, res.status]).toEqual([name, 200]);
      expect((await res.text()) === want, `${name} in workerd answers the same bytes`).toBe(true);
    }
  }, 60_000);

  it('the bundles carry neither the generator nor the other functions', async () => {
    const doc = await readFile(path.join(out, 'openapi.json'), 'utf8');
    const page = (await served('/docs')).text;
    const base = report('healthz').bytes;
    for (const [name, text, other] of [
      ['openapi', doc, '<!doctype html>'],
      ['docs', page, '"openapi":"3.1.0"'],
    ] as const) {
      const src = await readFile(report(name).file, 'utf8');
      // zod's toJSONSchema options and the generator's own error text (lib/http/openapi.ts).
      for (const marker of [
        'draft-2020-12',
        'unrepresentable',
        'must be registered in lib/http/responses.ts',
      ])
        expect([name, src.includes(marker)], marker).toEqual([name, false]);
      // No other function's code (the claim's SQL), nor the other bundle's text.
      expect([name, src.includes('SKIP LOCKED'), src.includes(other)]).toEqual([name, false, false]);
      // The smallest bundle (healthz: hono, config, the adapter) plus the text it serves,
      // and little more; with the generator and every function it was ~250 KB over the base.
      expect(report(name).bytes, name).toBeLessThan(base + text.length + 40 * 1024);
    }
    // Nor the response schemas (documentation only, registered under their component
    // names): look for one where no document is.
    expect(doc.includes('"LeasedJob"')).toBe(true);
    expect((await readFile(report('healthz').file, 'utf8')).includes('LeasedJob')).toBe(false);
  });
});
