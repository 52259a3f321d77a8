// The container image: what can be checked without a Docker engine.
import { existsSync, readFileSync } from 'node:fs';
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

  it('ships the migrations where MIGRATIONS_DIR points', () => {
    expect(DOCKERFILE).toMatch(/MIGRATIONS_DIR=\/app\/migrations/);
    expect(DOCKERFILE).toMatch(/^COPY --from=build \/app\/migrations \.\/migrations$/m);
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
  it.skipIf(!existsSync(BUILD_SCRIPT))('scripts/build.ts declares every entry point', () => {
    const script = readFileSync(BUILD_SCRIPT, 'utf8');
    for (const entry of SPEC.entryPoints) {
      const name = entry.replace(/^dist\//, '').replace(/\.mjs$/, '');
      expect(script, `${entry} in scripts/build.ts`).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it.skipIf(!existsSync(path('dist/server.mjs')))('dist/ holds every entry point after npm run build', () => {
    for (const entry of [...SPEC.entryPoints, 'dist/functions/jobs-get.mjs', 'dist/functions/jobs-reap.mjs'])
      expect(existsSync(path(entry)), entry).toBe(true);
  });
});
