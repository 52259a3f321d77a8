// The container image: what can be checked without a Docker engine.
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDockerfile, checkDockerignore, dockerEntryPoints, path, SPEC } from './checks.ts';

const DOCKERFILE = readFileSync(path('deploy/Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(path('.dockerignore'), 'utf8');
const BUILD_SCRIPT = path('scripts/build.ts');

describe('deploy/Dockerfile', () => {
  it('passes every check', () => {
    expect(checkDockerfile(DOCKERFILE)).toEqual([]);
  });

  it('names exactly the four entry points of the contract', () => {
    expect(dockerEntryPoints(DOCKERFILE).sort()).toEqual([...SPEC.entryPoints].sort());
  });

  it('runs as uid 10001, the uid the pods pin with runAsUser', () => {
    expect(DOCKERFILE).toMatch(/^USER 10001:10001$/m);
    expect(readFileSync(path('deploy/k8s/base/api-deployment.yaml'), 'utf8')).toMatch(/runAsUser: 10001/);
  });

  it('keeps tini as ENTRYPOINT (the manifests pass args, not command)', () => {
    expect(DOCKERFILE).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
  });

  it('refuses to build an image whose dist/ lacks the migrations the migrator reads', () => {
    // scripts/build.ts copies migrations/ to dist/migrations; lib/db/migrations-fs.ts
    // looks for them beside the bundle.
    expect(DOCKERFILE).toMatch(/&& test -d dist\/migrations$/m);
    expect(DOCKERFILE).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
  });

  it.each<[string, (s: string) => string, RegExp]>([
    ['a single stage', (s) => s.replace(/^FROM .* AS (deps|build)$/gm, ''), /not multi-stage/],
    ['no USER', (s) => s.replace(/^USER .*$/m, ''), /sets no USER/],
    ['USER root', (s) => s.replace(/^USER .*$/m, 'USER 0'), /USER 0 is not a non-zero numeric uid/],
    ['a named user', (s) => s.replace(/^USER .*$/m, 'USER app'), /USER app is not a non-zero numeric uid/],
    [
      'the worker as default CMD',
      (s) => s.replace(/^CMD .*$/m, 'CMD ["node", "dist/worker.mjs"]'),
      /default CMD/,
    ],
    [
      'no reaper entry point',
      (s) => s.replaceAll('dist/reap.mjs', 'dist/other.mjs'),
      /does not name dist\/reap.mjs/,
    ],
    ['the build context in the runtime', (s) => `${s}\nCOPY . .\n`, /copies the whole build context/],
  ])('catches %s', (_name, breakIt, problem) => {
    expect(checkDockerfile(breakIt(DOCKERFILE)).join('\n')).toMatch(problem);
  });
});

describe('.dockerignore', () => {
  it('keeps secrets and build output out of the context, and what the build needs in', () => {
    expect(checkDockerignore(DOCKERIGNORE)).toEqual([]);
  });

  it.each<[string, (s: string) => string, RegExp]>([
    [
      'secrets.env sent to the builder',
      (s) => s.replace('**/secrets.env\n', ''),
      /does not exclude \*\*\/secrets.env/,
    ],
    [
      'node_modules sent to the builder',
      (s) => s.replace(/^node_modules$/m, ''),
      /does not exclude node_modules/,
    ],
    ['the migrations excluded', (s) => `${s}migrations\n`, /excludes migrations/],
  ])('catches %s', (_name, breakIt, problem) => {
    expect(checkDockerignore(breakIt(DOCKERIGNORE)).join('\n')).toMatch(problem);
  });
});

describe('the build produces what the image and the edge deploy run', () => {
  it.skipIf(!existsSync(BUILD_SCRIPT))(
    'scripts/build.ts declares exactly the entry points the image runs',
    async () => {
      // Imported by URL, not statically: the build script is another part's file, and its
      // module has no side effects when imported (it builds only when run directly).
      const mod = (await import(pathToFileURL(BUILD_SCRIPT).href)) as {
        NODE_ENTRIES?: Record<string, string>;
      };
      if (mod.NODE_ENTRIES) {
        const built = Object.keys(mod.NODE_ENTRIES).map((name) => `dist/${name}.mjs`);
        expect(built.sort()).toEqual([...SPEC.entryPoints].sort());
      } else {
        const script = readFileSync(BUILD_SCRIPT, 'utf8');
        for (const entry of SPEC.entryPoints) {
          const name = entry.replace(/^dist\//, '').replace(/\.mjs$/, '');
          expect(script, `${entry} in scripts/build.ts`).toMatch(new RegExp(`\\b${name}\\b`));
        }
      }
    },
  );

  it.skipIf(!existsSync(path('dist/server.mjs')))('dist/ holds every entry point after npm run build', () => {
    for (const entry of [
      ...SPEC.entryPoints,
      'dist/migrations',
      'dist/functions/jobs-get.mjs',
      'dist/functions/jobs-reap.mjs',
    ])
      expect(existsSync(path(entry)), entry).toBe(true);
  });
});
