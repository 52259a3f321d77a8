// The Kubernetes manifests against the code's configuration schema and entry points.
// The example overlay is rendered (base + overlay, as `kubectl apply -k` would) and every
// check of checks.ts must pass; then each check is shown to fire on a broken copy.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConfigKey, configShape, SECRET_KEYS } from '../../lib/config/schema.ts';
import {
  checkManifests,
  codeDefault,
  dockerEntryPoints,
  documentedEnvKeys,
  findRole,
  type Manifest,
  parseEnvFile,
  parseYamlDocs,
  path,
  productionRequiredKeys,
  renderKustomization,
  SPEC,
  workloads,
} from './checks.ts';

const OVERLAY = path('deploy/k8s/overlays/example');
const entryPoints = dockerEntryPoints(readFileSync(path('deploy/Dockerfile'), 'utf8'));
// Always the committed example, never a developer's real secrets.env: the test must
// give the same answer on every machine.
const readEnvFile = (file: string) =>
  readFileSync(existsSync(`${file}.example`) ? `${file}.example` : file, 'utf8');
const render = () => renderKustomization(OVERLAY, { readEnvFile });
const check = (docs: Manifest[]) => checkManifests(docs, { entryPoints });

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

describe('Kubernetes manifests', () => {
  it('every YAML file under deploy/k8s parses and every document has a kind', () => {
    const files = yamlFiles(path('deploy/k8s'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const docs = parseYamlDocs(readFileSync(f, 'utf8'), f) as { kind?: string; apiVersion?: string }[];
      expect(docs.length, f).toBeGreaterThan(0);
      for (const d of docs) {
        expect(d.kind, f).toBeTruthy();
        expect(d.apiVersion, f).toBeTruthy();
      }
    }
  });

  it('the example overlay passes every consistency check', () => {
    expect(check(render())).toEqual([]);
  });

  it('runs the API, the worker and the reaper from the image, with the spec ports and probes', () => {
    const docs = render();
    const api = findRole(docs, 'dist/server.mjs');
    const worker = findRole(docs, 'dist/worker.mjs');
    const reaper = findRole(docs, 'dist/reap.mjs');
    expect(api?.workload.kind).toBe('Deployment');
    expect(worker?.workload.kind).toBe('Deployment');
    expect(reaper?.workload.kind).toBe('CronJob');
    expect(api?.container.ports?.map((p) => p.containerPort)).toEqual([SPEC.apiPort]);
    expect(worker?.container.ports?.map((p) => p.containerPort)).toEqual([SPEC.workerPort]);
    for (const role of [api, worker]) {
      expect(role?.container.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(role?.container.readinessProbe?.httpGet?.path).toBe('/readyz');
    }
    // 25s of in-flight work after SIGTERM, then SIGKILL at 40s.
    expect(worker?.workload.template.spec.terminationGracePeriodSeconds).toBe(40);
    expect(codeDefault('WORKER_SHUTDOWN_GRACE')).toBe(25_000);
    // Migrations run in an init container before the API and the workers start.
    for (const role of [api, worker])
      expect(role?.workload.template.spec.initContainers?.map((c) => c.args?.join(' '))).toEqual([
        'node dist/migrate.mjs',
      ]);
    // Every container of every workload runs the overlay's image.
    for (const w of workloads(docs))
      for (const c of [...(w.template.spec.initContainers ?? []), ...w.template.spec.containers])
        expect(c.image).toBe('registry.example.com/portal/ai-service:0.1.0');
  });

  it('config.env lists every non-secret setting of the schema (set or commented out) and no other', () => {
    const text = readFileSync(path('deploy/k8s/base/config.env'), 'utf8');
    const set = Object.keys(parseEnvFile(text));
    const documented = documentedEnvKeys(text);
    const known = Object.keys(configShape) as ConfigKey[];
    const missing = known.filter((k) => !SECRET_KEYS.includes(k) && !documented.has(k));
    expect(missing, 'add these to deploy/k8s/base/config.env (commented out at their default)').toEqual([]);
    expect(set.filter((k) => !(known as string[]).includes(k))).toEqual([]);
    expect([...documented].filter((k) => !(known as string[]).includes(k))).toEqual([]);
    expect(set.filter((k) => (SECRET_KEYS as string[]).includes(k))).toEqual([]);
  });

  it('secrets.env.example lists exactly the secret variables, with placeholders for the required ones', () => {
    const example = parseEnvFile(readFileSync(join(OVERLAY, 'secrets.env.example'), 'utf8'));
    expect(Object.keys(example).sort()).toEqual([...SECRET_KEYS].sort());
    for (const key of productionRequiredKeys()) expect(example[key], key).toMatch(/CHANGE_ME/);
    // The real file stays out of git.
    expect(readFileSync(join(OVERLAY, '.gitignore'), 'utf8')).toMatch(/^secrets\.env$/m);
  });

  it('production requires DATABASE_URL and nothing else without a default', () => {
    expect(productionRequiredKeys()).toEqual(['DATABASE_URL']);
  });

  const kubectl = (() => {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const tmp: string[] = [];
  afterAll(() => {
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  it.skipIf(!kubectl)('the real kustomize render (kubectl kustomize) passes the same checks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ai-service-k8s-'));
    tmp.push(dir);
    cpSync(path('deploy/k8s'), dir, { recursive: true });
    const overlay = join(dir, 'overlays/example');
    writeFileSync(join(overlay, 'secrets.env'), readFileSync(join(overlay, 'secrets.env.example')));
    const out = execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
    const docs = parseYamlDocs(out, 'kubectl kustomize') as Manifest[];
    expect(check(docs)).toEqual([]);
    // Generated names carry a content hash, and the workloads refer to the hashed names.
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    expect(cm?.metadata.name).toMatch(/^ai-service-config-[a-z0-9]+$/);
    expect(out).toContain(`name: ${cm?.metadata.name}`);
    expect(docs.every((d) => d.metadata.namespace === 'ai-service' || d.kind === 'Namespace')).toBe(true);
  });
});

/** A mutation of the rendered manifests and a problem it must produce. */
type Breakage = [string, (docs: Manifest[]) => void, RegExp];

const byName = (docs: Manifest[], kind: string, name: string) => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`fixture lost ${kind} ${name}`);
  return d;
};
const configMap = (docs: Manifest[]) => byName(docs, 'ConfigMap', 'ai-service-config').data!;
const secret = (docs: Manifest[]) => byName(docs, 'Secret', 'ai-service-secrets').stringData!;
const pod = (docs: Manifest[], name: string) => {
  const w = workloads(docs).find((x) => x.name === name);
  if (!w) throw new Error(`fixture lost ${name}`);
  return w.template;
};
const main = (docs: Manifest[], name: string) => pod(docs, name).spec.containers[0]!;

const breakages: Breakage[] = [
  [
    'an unknown variable in the ConfigMap',
    (d) => {
      configMap(d).LLM_URL = 'http://x';
    },
    /unknown variable LLM_URL/,
  ],
  [
    'a secret in the ConfigMap',
    (d) => {
      configMap(d).AI_SERVICE_TOKEN = 'abc';
      delete secret(d).AI_SERVICE_TOKEN;
    },
    /ConfigMap ai-service-config: secret AI_SERVICE_TOKEN must come from a Secret/,
  ],
  [
    'a non-secret in the Secret',
    (d) => {
      secret(d).LLM_BASE_URL = 'http://x';
    },
    /LLM_BASE_URL is not secret/,
  ],
  [
    'no DATABASE_URL',
    (d) => {
      delete secret(d).DATABASE_URL;
    },
    /ai-service-api\/api: DATABASE_URL is not provided/,
  ],
  [
    'a secret as a literal env value',
    (d) => {
      main(d, 'ai-service-worker').env = [{ name: 'LLM_API_KEY', value: 'sk-123' }];
    },
    /secret LLM_API_KEY comes from literal/,
  ],
  [
    'an env variable the code does not read',
    (d) => {
      main(d, 'ai-service-api').env = [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=400' }];
    },
    /unknown variable NODE_OPTIONS/,
  ],
  [
    'NODE_ENV not production',
    (d) => {
      configMap(d).NODE_ENV = 'development';
    },
    /NODE_ENV must be production/,
  ],
  [
    'a value the code rejects',
    (d) => {
      configMap(d).WORKER_POLL_INTERVAL = 'soon';
    },
    /configuration rejected by the code: .*WORKER_POLL_INTERVAL/,
  ],
  [
    'a missing Secret',
    (d) => {
      d.splice(d.indexOf(byName(d, 'Secret', 'ai-service-secrets')), 1);
    },
    /envFrom Secret ai-service-secrets does not exist/,
  ],
  [
    'a worker grace period shorter than the shutdown grace',
    (d) => {
      pod(d, 'ai-service-worker').spec.terminationGracePeriodSeconds = 20;
    },
    /terminationGracePeriodSeconds 20 must exceed WORKER_SHUTDOWN_GRACE \(25s\)/,
  ],
  [
    'a shutdown grace raised without the grace period',
    (d) => {
      configMap(d).WORKER_SHUTDOWN_GRACE = '60s';
    },
    /terminationGracePeriodSeconds 40 must exceed WORKER_SHUTDOWN_GRACE \(60s\)/,
  ],
  [
    'no margin between shutdown grace and SIGKILL',
    (d) => {
      configMap(d).WORKER_SHUTDOWN_GRACE = '38s';
    },
    /must exceed WORKER_SHUTDOWN_GRACE \(38s\) by at least 5s/,
  ],
  [
    'a wrong readiness path',
    (d) => {
      main(d, 'ai-service-api').readinessProbe!.httpGet!.path = '/health';
    },
    /readinessProbe path \/health, expected \/readyz/,
  ],
  [
    'a liveness probe on the wrong port',
    (d) => {
      main(d, 'ai-service-worker').livenessProbe!.httpGet!.port = 8080;
    },
    /livenessProbe port 8080 is not WORKER_HTTP_PORT 8081/,
  ],
  [
    'HTTP_PORT that no container port matches',
    (d) => {
      configMap(d).HTTP_PORT = '9090';
    },
    /no containerPort 9090/,
  ],
  [
    'a worker container port that is not WORKER_HTTP_PORT',
    (d) => {
      main(d, 'ai-service-worker').ports![0]!.containerPort = 9000;
    },
    /no containerPort 8081/,
  ],
  [
    'a loopback bind address',
    (d) => {
      configMap(d).WORKER_HTTP_HOST = '127.0.0.1';
    },
    /unreachable/,
  ],
  [
    'a wrong metrics port annotation',
    (d) => {
      pod(d, 'ai-service-worker').metadata!.annotations!['prometheus.io/port'] = '8080';
    },
    /prometheus.io\/port 8080 is not 8081/,
  ],
  [
    'a pod that may run as root',
    (d) => {
      delete pod(d, 'ai-service-api').spec.securityContext!.runAsNonRoot;
    },
    /ai-service-api\/api: runAsNonRoot is not true/,
  ],
  [
    'a writable root filesystem',
    (d) => {
      main(d, 'ai-service-reaper').securityContext!.readOnlyRootFilesystem = false;
    },
    /readOnlyRootFilesystem is not true/,
  ],
  [
    'capabilities kept',
    (d) => {
      pod(d, 'ai-service-api').spec.initContainers![0]!.securityContext!.capabilities = {};
    },
    /ai-service-api\/migrate: capabilities do not drop ALL/,
  ],
  [
    'no seccomp profile',
    (d) => {
      delete pod(d, 'ai-service-worker').spec.securityContext!.seccompProfile;
    },
    /seccompProfile is not RuntimeDefault/,
  ],
  [
    'no memory limit',
    (d) => {
      delete main(d, 'ai-service-api').resources!.limits;
    },
    /no resources.limits.memory/,
  ],
  [
    'service links left on',
    (d) => {
      delete pod(d, 'ai-service-api').spec.enableServiceLinks;
    },
    /enableServiceLinks must be false/,
  ],
  [
    'a reaper command that is no entry point',
    (d) => {
      main(d, 'ai-service-reaper').args = ['node', 'dist/reaper.mjs'];
    },
    /runs "node dist\/reaper.mjs", which names no entry point/,
  ],
  [
    'command instead of args',
    (d) => {
      main(d, 'ai-service-worker').command = ['node', 'dist/worker.mjs'];
    },
    /sets command/,
  ],
  [
    'overlapping reaper runs allowed',
    (d) => {
      byName(d, 'CronJob', 'ai-service-reaper').spec.concurrencyPolicy = 'Allow';
    },
    /concurrencyPolicy must be Forbid/,
  ],
  [
    'a Service that also selects the workers',
    (d) => {
      delete byName(d, 'Service', 'ai-service').spec.selector['app.kubernetes.io/component'];
    },
    /Service ai-service also selects Deployment ai-service-worker pods/,
  ],
  [
    'no PodDisruptionBudget for the API',
    (d) => {
      d.splice(d.indexOf(byName(d, 'PodDisruptionBudget', 'ai-service-api')), 1);
    },
    /no PodDisruptionBudget covers the API pods/,
  ],
  [
    'two images',
    (d) => {
      main(d, 'ai-service-reaper').image = 'registry.example.com/portal/ai-service:0.0.9';
    },
    /different images/,
  ],
];

describe('the manifest checks catch broken manifests', () => {
  it.each(breakages)('%s', (_name, breakIt, problem) => {
    const docs = structuredClone(render());
    breakIt(docs);
    const problems = check(docs);
    expect(problems.join('\n')).toMatch(problem);
  });
});
