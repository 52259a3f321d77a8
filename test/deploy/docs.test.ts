// The deployment docs: the commands they give name files that exist, so the walk-through
// does not rot when files move.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { path } from './checks.ts';

// Paths the reader creates (their own overlay, their secrets), and kubectl's
// deploy/<name> resource shorthand: not files of the repository.
const NOT_FILES = [
  /^deploy\/k8s\/overlays\/production/,
  /secrets\.env$/,
  /\.dev\.vars$/,
  /^deploy\/ai-service-/,
];

describe('deployment docs', () => {
  it('docs/deploy.md names only files and directories that exist', () => {
    const text = readFileSync(path('docs/deploy.md'), 'utf8');
    const refs = [
      ...new Set(
        [...text.matchAll(/\b(?:deploy|test\/deploy|lib\/config)\/[\w./-]*[\w/]/g)].map((m) => m[0]),
      ),
    ];
    expect(refs.length).toBeGreaterThan(0);
    const missing = refs.filter((r) => !NOT_FILES.some((u) => u.test(r)) && !existsSync(path(r)));
    expect(missing).toEqual([]);
  });

  it('the AI-server README names the files beside it', () => {
    const text = readFileSync(path('deploy/ai-server/README.md'), 'utf8');
    for (const file of ['docker-compose.audio.yml', 'vllm-audio.Dockerfile']) {
      expect(text).toContain(file);
      expect(existsSync(path('deploy/ai-server', file))).toBe(true);
    }
  });

  it('docs/deploy.md gives the image build, the apply, and the first job', () => {
    const text = readFileSync(path('docs/deploy.md'), 'utf8');
    expect(text).toContain('docker build -f deploy/Dockerfile');
    expect(text).toContain('kubectl create namespace ai-service');
    expect(text).toContain('kubectl apply -k deploy/k8s/overlays/production');
    expect(text).toContain('POST localhost:8080/api/v1/jobs');
    expect(text).toContain('/metrics');
  });
});
