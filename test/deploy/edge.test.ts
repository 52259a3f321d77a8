// The Cloudflare Workers example: wrangler.toml and the scheduled reaper wrapper.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { checkWrangler, parseSimpleToml, path } from './checks.ts';

const DIR = path('deploy/edge/cloudflare');
const TOML = readFileSync(`${DIR}/wrangler.toml`, 'utf8');

type Handler = { fetch: (request: Request, env: unknown, ctx: unknown) => Response | Promise<Response> };
type ScheduledReap = {
  REAP_PATH: string;
  reapOnSchedule: (
    handler: Handler,
    env: Record<string, unknown>,
    ctx?: unknown,
  ) => Promise<{ status: number }>;
};
const load = async () => (await import(pathToFileURL(`${DIR}/scheduled-reap.mjs`).href)) as ScheduledReap;

/** A fake reap bundle that records the request it got. */
function fakeBundle(status: number, body = '{"reaped":0}') {
  const seen: Request[] = [];
  const handler: Handler = {
    fetch: async (request) => {
      seen.push(request);
      return new Response(body, { status });
    },
  };
  return { handler, seen };
}

describe('deploy/edge/cloudflare/wrangler.toml', () => {
  it('passes every check', () => {
    expect(checkWrangler(parseSimpleToml(TOML), DIR)).toEqual([]);
  });

  it('deploys the GET /api/v1/jobs/{id} bundle and a reaper Worker on a cron', () => {
    const toml = parseSimpleToml(TOML);
    expect(toml['']?.main).toBe('../../../dist/functions/jobs-get.mjs');
    expect(toml['env.reaper']?.main).toBe('reaper-cron.mjs');
    expect(toml['env.reaper.triggers']?.crons).toEqual(['*/5 * * * *']);
  });

  it.each<[string, (s: string) => string, RegExp]>([
    [
      'a secret in vars',
      (s) => s.replace('[vars]\n', '[vars]\nDATABASE_URL = "postgres://x"\n'),
      /secret DATABASE_URL/,
    ],
    [
      'an unknown variable',
      (s) => s.replace('[vars]\n', '[vars]\nDB_URL = "x"\n'),
      /unknown variable DB_URL/,
    ],
    ['no cron', (s) => s.replace(/^crons = .*$/m, 'crons = []'), /no cron trigger/],
    [
      'a main outside dist/functions',
      (s) => s.replace(/^main = ".*jobs-get.mjs"$/m, 'main = "src/x.ts"'),
      /main src\/x.ts/,
    ],
  ])('catches %s', (_name, breakIt, problem) => {
    expect(checkWrangler(parseSimpleToml(breakIt(TOML)), DIR).join('\n')).toMatch(problem);
  });
});

describe('reaper-cron.mjs', () => {
  it('imports the reap bundle from dist/functions and hands scheduled runs to reapOnSchedule', () => {
    const src = readFileSync(`${DIR}/reaper-cron.mjs`, 'utf8');
    expect(src).toMatch(/^import reap from '\.\.\/\.\.\/\.\.\/dist\/functions\/jobs-reap\.mjs';$/m);
    expect(src).toMatch(/async scheduled\(/);
    expect(src).toMatch(/reapOnSchedule\(reap, env, ctx\)/);
  });

  it('POSTs to /api/v1/jobs/reap with the bearer token from env', async () => {
    const { reapOnSchedule, REAP_PATH } = await load();
    expect(REAP_PATH).toBe('/api/v1/jobs/reap');
    const { handler, seen } = fakeBundle(200);
    const env = { AI_SERVICE_TOKEN: 'tok-123', DATABASE_URL: 'postgres://neon' };
    const ctx = { waitUntil: () => {} };
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await expect(reapOnSchedule(handler, env, ctx)).resolves.toMatchObject({ status: 200 });
    log.mockRestore();
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe('POST');
    expect(new URL(req.url).pathname).toBe('/api/v1/jobs/reap');
    expect(req.headers.get('authorization')).toBe('Bearer tok-123');
    expect(req.headers.get('content-type')).toBe('application/json');
  });

  it('sends no Authorization header when no token is configured', async () => {
    const { reapOnSchedule } = await load();
    const { handler, seen } = fakeBundle(200);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await reapOnSchedule(handler, {});
    log.mockRestore();
    expect(seen[0]!.headers.has('authorization')).toBe(false);
  });

  it('fails the cron run when the bundle answers an error', async () => {
    const { reapOnSchedule } = await load();
    await expect(
      reapOnSchedule(fakeBundle(401, 'unauthorized').handler, { AI_SERVICE_TOKEN: 'x' }),
    ).rejects.toThrow(/lease reap failed: HTTP 401: unauthorized/);
    await expect(reapOnSchedule(fakeBundle(500, '').handler, {})).rejects.toThrow(/HTTP 500/);
  });
});
