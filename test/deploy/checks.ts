// Consistency checks between the deployment files (deploy/, .dockerignore) and the code's
// contract (lib/config/schema.ts, the entry points, the probe endpoints). Each check
// returns a list of problems instead of throwing, so the tests can show that every check
// fires on a broken copy of the real files, not only that the real files pass.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import * as z from 'zod/mini';
import { parseDuration } from '../../lib/config/duration.ts';
import { ConfigError, loadConfig } from '../../lib/config/load.ts';
import { type ConfigKey, configShape, SECRET_KEYS } from '../../lib/config/schema.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const path = (...parts: string[]) => join(ROOT, ...parts);

/** The endpoints and defaults the specification fixes (docs: ../shared/spec/ai-service.md). */
export const SPEC = {
  apiPort: 8080,
  workerPort: 8081,
  liveness: '/healthz',
  readiness: '/readyz',
  metrics: '/metrics',
  entryPoints: ['dist/server.mjs', 'dist/worker.mjs', 'dist/reap.mjs', 'dist/migrate.mjs'],
} as const;

/** Minimum seconds between WORKER_SHUTDOWN_GRACE and the pod's SIGKILL. */
export const GRACE_MARGIN_S = 5;

// ---------------------------------------------------------------------------------------
// Kubernetes object shapes: only the fields the checks read.

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}
export interface Probe {
  httpGet?: { path?: string; port?: number | string };
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
export interface EnvFrom {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvFrom[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number;
  enableServiceLinks?: boolean;
}
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}
export interface Manifest {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  // `any`: spec differs per kind; workloads() and the checks read the fields they need.
  spec?: any;
  // Kustomization fields (kind Kustomization / Component)
  resources?: string[];
  components?: string[];
  namespace?: string;
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  replicas?: { name: string; count: number }[];
}
interface Generator {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  envs?: string[];
  literals?: string[];
}

export interface Workload {
  kind: string;
  name: string;
  manifest: Manifest;
  template: PodTemplate;
}

// ---------------------------------------------------------------------------------------
// Loading

/** Every document of a (multi-document) YAML text; YAML errors throw with the file name. */
export function parseYamlDocs(text: string, file = '<text>'): unknown[] {
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text, { merge: true })) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const js = doc.toJS();
    if (js !== null && js !== undefined) out.push(js);
  }
  return out;
}

export function readYaml(file: string): unknown[] {
  return parseYamlDocs(readFileSync(file, 'utf8'), file);
}

/**
 * An env file as kustomize reads it for configMapGenerator/secretGenerator `envs`:
 * KEY=VALUE per line, `#` comment lines and blank lines skipped, the value taken
 * verbatim (kustomize does not strip quotes).
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`env file line without KEY=: "${line}"`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** Commented-out `# KEY=…` lines: settings documented at their code default. */
export function documentedEnvKeys(text: string): Set<string> {
  const keys = new Set<string>();
  for (const m of text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)) keys.add(m[1]!);
  return keys;
}

function literalPairs(literals: string[]): Record<string, string> {
  return Object.fromEntries(
    literals.map((l) => {
      const eq = l.indexOf('=');
      return [l.slice(0, eq), l.slice(eq + 1)];
    }),
  );
}

export interface RenderOptions {
  /** Reads an env file named by a generator; default: the file, else `<file>.example`. */
  readEnvFile?: (file: string) => string;
}

/**
 * Just enough of `kustomize build` for these manifests, so the checks run where kubectl
 * is not installed: resources (files and directories), components, config/secret
 * generators (create and merge), images, replicas, namespace. Generated names keep no
 * hash suffix; nothing here depends on it. (test/deploy also renders with the real
 * kustomize when kubectl is present.)
 */
export function renderKustomization(dir: string, options: RenderOptions = {}): Manifest[] {
  const readEnvFile =
    options.readEnvFile ??
    ((file: string) => readFileSync(existsSync(file) ? file : `${file}.example`, 'utf8'));
  const [k] = readYaml(join(dir, 'kustomization.yaml')) as Manifest[];
  if (!k) throw new Error(`${dir}: empty kustomization.yaml`);
  const docs: Manifest[] = [];
  for (const entry of [...(k.resources ?? []), ...(k.components ?? [])]) {
    const target = resolve(dir, entry);
    if (statSync(target).isDirectory()) docs.push(...renderKustomization(target, options));
    else docs.push(...(readYaml(target) as Manifest[]));
  }
  const generate = (kind: 'ConfigMap' | 'Secret', gens: Generator[] = []) => {
    for (const g of gens) {
      const data: Record<string, string> = {};
      for (const file of g.envs ?? []) Object.assign(data, parseEnvFile(readEnvFile(resolve(dir, file))));
      Object.assign(data, literalPairs(g.literals ?? []));
      const existing = docs.find((d) => d.kind === kind && d.metadata.name === g.name);
      const field = kind === 'Secret' ? 'stringData' : 'data';
      if (g.behavior === 'merge' || g.behavior === 'replace') {
        if (!existing)
          throw new Error(`${dir}: ${kind} ${g.name} to ${g.behavior} does not exist in the base`);
        existing[field] = g.behavior === 'merge' ? { ...existing[field], ...data } : data;
      } else {
        if (existing) throw new Error(`${dir}: ${kind} ${g.name} generated twice`);
        docs.push({ apiVersion: 'v1', kind, metadata: { name: g.name }, [field]: data });
      }
    }
  };
  generate('ConfigMap', k.configMapGenerator);
  generate('Secret', k.secretGenerator);
  for (const w of workloads(docs)) {
    for (const c of containersOf(w.template)) {
      const img = k.images?.find((i) => c.image === i.name || c.image?.startsWith(`${i.name}:`));
      if (img) {
        const name = img.newName ?? img.name;
        c.image = img.digest ? `${name}@${img.digest}` : `${name}:${img.newTag ?? 'latest'}`;
      }
    }
  }
  for (const r of k.replicas ?? []) {
    const d = docs.find((x) => x.metadata.name === r.name && x.spec && 'replicas' in x.spec);
    if (!d) throw new Error(`${dir}: replicas for unknown ${r.name}`);
    d.spec.replicas = r.count;
  }
  if (k.namespace) for (const d of docs) d.metadata.namespace = k.namespace;
  return docs;
}

// ---------------------------------------------------------------------------------------
// Accessors

export function workloads(docs: Manifest[]): Workload[] {
  const out: Workload[] = [];
  for (const d of docs) {
    const template: PodTemplate | undefined =
      d.kind === 'Deployment' || d.kind === 'StatefulSet' || d.kind === 'DaemonSet' || d.kind === 'Job'
        ? d.spec?.template
        : d.kind === 'CronJob'
          ? d.spec?.jobTemplate?.spec?.template
          : undefined;
    if (template) out.push({ kind: d.kind, name: d.metadata.name, manifest: d, template });
  }
  return out;
}

export function containersOf(t: PodTemplate): Container[] {
  return [...(t.spec.initContainers ?? []), ...t.spec.containers];
}

/** The whole command line of a container as the image runs it (args follow ENTRYPOINT). */
export function commandLine(c: Container): string {
  return [...(c.command ?? []), ...(c.args ?? [])].join(' ');
}

/** The workload whose main (non-init) container runs `entry`, with that container. */
export function findRole(
  docs: Manifest[],
  entry: string,
): { workload: Workload; container: Container } | undefined {
  for (const w of workloads(docs)) {
    const c = w.template.spec.containers.find((x) => commandLine(x).includes(entry));
    if (c) return { workload: w, container: c };
  }
  return undefined;
}

function secretData(s: Manifest): Record<string, string> {
  const out: Record<string, string> = { ...(s.stringData ?? {}) };
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

const find = (docs: Manifest[], kind: string, name: string) =>
  docs.find((d) => d.kind === kind && d.metadata.name === name);

export type EnvSource = 'ConfigMap' | 'Secret' | 'literal' | 'secretKeyRef' | 'configMapKeyRef' | 'fieldRef';

/**
 * The environment a container starts with (envFrom in order, then env, which wins), and
 * where each variable came from. Missing ConfigMaps/Secrets are reported as problems.
 */
export function containerEnv(
  docs: Manifest[],
  c: Container,
  where: string,
): { env: Record<string, string>; source: Record<string, EnvSource>; problems: string[] } {
  const env: Record<string, string> = {};
  const source: Record<string, EnvSource> = {};
  const problems: string[] = [];
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = find(docs, 'ConfigMap', from.configMapRef.name);
      if (!cm && !from.configMapRef.optional)
        problems.push(`${where}: envFrom ConfigMap ${from.configMapRef.name} does not exist`);
      for (const [k, v] of Object.entries(cm?.data ?? {})) {
        env[prefix + k] = v;
        source[prefix + k] = 'ConfigMap';
      }
    }
    if (from.secretRef) {
      const s = find(docs, 'Secret', from.secretRef.name);
      if (!s && !from.secretRef.optional)
        problems.push(`${where}: envFrom Secret ${from.secretRef.name} does not exist`);
      for (const [k, v] of Object.entries(s ? secretData(s) : {})) {
        env[prefix + k] = v;
        source[prefix + k] = 'Secret';
      }
    }
  }
  for (const e of c.env ?? []) {
    const vf = e.valueFrom;
    if (vf?.secretKeyRef) {
      const s = find(docs, 'Secret', vf.secretKeyRef.name);
      const v = s ? secretData(s)[vf.secretKeyRef.key] : undefined;
      if (v === undefined)
        problems.push(`${where}: ${e.name} refers to missing Secret key ${vf.secretKeyRef.key}`);
      env[e.name] = v ?? '';
      source[e.name] = 'secretKeyRef';
    } else if (vf?.configMapKeyRef) {
      const v = find(docs, 'ConfigMap', vf.configMapKeyRef.name)?.data?.[vf.configMapKeyRef.key];
      if (v === undefined)
        problems.push(`${where}: ${e.name} refers to missing ConfigMap key ${vf.configMapKeyRef.key}`);
      env[e.name] = v ?? '';
      source[e.name] = 'configMapKeyRef';
    } else if (vf?.fieldRef) {
      env[e.name] = `fieldRef:${vf.fieldRef.fieldPath}`;
      source[e.name] = 'fieldRef';
    } else {
      env[e.name] = e.value ?? '';
      source[e.name] = 'literal';
    }
  }
  return { env, source, problems };
}

const KNOWN = new Set<string>(Object.keys(configShape));
const SECRET = new Set<string>(SECRET_KEYS);

/** What the code uses when a variable is unset (undefined when it has no default). */
export function codeDefault(key: ConfigKey): unknown {
  const r = z.safeParse(configShape[key] as z.ZodMiniType, undefined);
  return r.success ? r.data : undefined;
}

/**
 * Variables a production process cannot start without: those the schema gives no default
 * and does not mark optional, plus DATABASE_URL, which lib/config/load.ts requires when
 * NODE_ENV=production.
 */
export function productionRequiredKeys(): ConfigKey[] {
  const keys = (Object.keys(configShape) as ConfigKey[]).filter(
    (k) => !z.safeParse(configShape[k] as z.ZodMiniType, undefined).success,
  );
  return [...new Set<ConfigKey>([...keys, 'DATABASE_URL'])];
}

/** Numeric containerPort of a probe/Service port given by number or by port name. */
function resolvePort(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

// ---------------------------------------------------------------------------------------
// Kubernetes checks

export interface ManifestCheckOptions {
  /** Entry points the image provides (from the Dockerfile); containers must run one. */
  entryPoints: readonly string[];
}

export function checkManifests(docs: Manifest[], options: ManifestCheckOptions): string[] {
  const problems: string[] = [];
  const all = workloads(docs);
  if (all.length === 0) return ['no workloads found'];

  // -- configuration objects: only known variables, secrets only in Secrets -------------
  for (const cm of docs.filter((d) => d.kind === 'ConfigMap')) {
    for (const key of Object.keys(cm.data ?? {})) {
      if (!KNOWN.has(key)) problems.push(`ConfigMap ${cm.metadata.name}: unknown variable ${key}`);
      if (SECRET.has(key))
        problems.push(`ConfigMap ${cm.metadata.name}: secret ${key} must come from a Secret`);
    }
  }
  for (const s of docs.filter((d) => d.kind === 'Secret')) {
    for (const key of Object.keys(secretData(s))) {
      if (!KNOWN.has(key)) problems.push(`Secret ${s.metadata.name}: unknown variable ${key}`);
      else if (!SECRET.has(key))
        problems.push(`Secret ${s.metadata.name}: ${key} is not secret; it belongs in the ConfigMap`);
    }
  }

  const images = new Set<string>();
  for (const w of all) {
    const where = `${w.kind} ${w.name}`;
    const spec = w.template.spec;

    // -- pod-level hardening -----------------------------------------------------------
    if (spec.enableServiceLinks !== false)
      problems.push(`${where}: enableServiceLinks must be false (service links inject *_PORT variables)`);
    const podSc = spec.securityContext ?? {};
    if (podSc.runAsUser === 0) problems.push(`${where}: runs as uid 0`);

    for (const c of containersOf(w.template)) {
      const at = `${where}/${c.name}`;
      if (c.image) images.add(c.image);

      // -- environment ------------------------------------------------------------------
      const { env, source, problems: envProblems } = containerEnv(docs, c, at);
      problems.push(...envProblems);
      for (const e of c.env ?? []) if (!KNOWN.has(e.name)) problems.push(`${at}: unknown variable ${e.name}`);
      for (const key of productionRequiredKeys())
        if (env[key] === undefined || env[key].trim() === '') problems.push(`${at}: ${key} is not provided`);
      for (const key of SECRET_KEYS)
        if (env[key] !== undefined && source[key] !== 'Secret' && source[key] !== 'secretKeyRef')
          problems.push(`${at}: secret ${key} comes from ${source[key]}, not a Secret`);
      if (env.NODE_ENV !== 'production')
        problems.push(`${at}: NODE_ENV must be production (got ${env.NODE_ENV})`);
      try {
        loadConfig(env);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(`${at}: configuration rejected by the code: ${err.message}`);
      }

      // -- entry point ------------------------------------------------------------------
      const cmd = commandLine(c);
      if (!options.entryPoints.some((e) => cmd.includes(e)))
        problems.push(`${at}: runs "${cmd}", which names no entry point of the image`);
      if (c.command) problems.push(`${at}: sets command (replaces the image ENTRYPOINT, tini); use args`);

      // -- container hardening and resources --------------------------------------------
      const sc = c.securityContext ?? {};
      if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`);
      if (sc.runAsUser === 0) problems.push(`${at}: runs as uid 0`);
      if ((sc.seccompProfile?.type ?? podSc.seccompProfile?.type) !== 'RuntimeDefault')
        problems.push(`${at}: seccompProfile is not RuntimeDefault`);
      if (sc.allowPrivilegeEscalation !== false)
        problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`);
      if (sc.privileged === true) problems.push(`${at}: privileged`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities do not drop ALL`);
      if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${at}: adds capabilities`);
      for (const r of ['requests.cpu', 'requests.memory', 'limits.memory'] as const) {
        const [kind, res] = r.split('.') as ['requests' | 'limits', string];
        if (!c.resources?.[kind]?.[res]) problems.push(`${at}: no resources.${r}`);
      }
    }
  }
  if (images.size > 1)
    problems.push(`containers use different images (${[...images].join(', ')}); one image runs all`);

  // -- roles: API, worker, reaper ---------------------------------------------------------
  const api = findRole(docs, 'dist/server.mjs');
  const worker = findRole(docs, 'dist/worker.mjs');
  const reaper = findRole(docs, 'dist/reap.mjs');
  if (!api) problems.push('no workload runs the API (dist/server.mjs)');
  if (!worker) problems.push('no workload runs the worker (dist/worker.mjs)');
  if (!reaper) problems.push('no workload runs the reaper (dist/reap.mjs)');

  const probed = (
    role: { workload: Workload; container: Container },
    label: string,
    portKey: 'HTTP_PORT' | 'WORKER_HTTP_PORT',
    hostKey: 'HTTP_HOST' | 'WORKER_HTTP_HOST',
    expectedPort: number,
  ) => {
    const { workload, container: c } = role;
    const at = `${label} ${workload.name}/${c.name}`;
    const { env } = containerEnv(docs, c, at);
    const raw = env[portKey];
    const port = raw === undefined ? (codeDefault(portKey) as number) : Number(raw);
    if (port !== expectedPort)
      problems.push(`${at}: ${portKey} is ${port}, the specification says ${expectedPort}`);
    const host = env[hostKey] ?? (codeDefault(hostKey) as string);
    if (host !== '0.0.0.0' && host !== '::')
      problems.push(`${at}: ${hostKey}=${host} is unreachable for the kubelet's probes`);
    if (!c.ports?.some((p) => p.containerPort === port))
      problems.push(`${at}: no containerPort ${port} (${portKey})`);
    for (const [probe, path] of [
      ['livenessProbe', SPEC.liveness],
      ['readinessProbe', SPEC.readiness],
    ] as const) {
      const get = c[probe]?.httpGet;
      if (!get) {
        problems.push(`${at}: no ${probe} httpGet`);
        continue;
      }
      if (get.path !== path) problems.push(`${at}: ${probe} path ${get.path}, expected ${path}`);
      const probePort = resolvePort(c, get.port);
      if (probePort !== port) problems.push(`${at}: ${probe} port ${get.port} is not ${portKey} ${port}`);
    }
    const ann = workload.template.metadata?.annotations ?? {};
    if (ann['prometheus.io/scrape'] !== 'true')
      problems.push(`${at}: no prometheus.io/scrape "true" annotation`);
    if (ann['prometheus.io/port'] !== String(port))
      problems.push(`${at}: prometheus.io/port ${ann['prometheus.io/port']} is not ${port}`);
    if ((ann['prometheus.io/path'] ?? '/metrics') !== SPEC.metrics)
      problems.push(`${at}: prometheus.io/path is not ${SPEC.metrics}`);
    return { env, port };
  };

  if (api) {
    const { port } = probed(api, 'API', 'HTTP_PORT', 'HTTP_HOST', SPEC.apiPort);
    const apiLabels = api.workload.template.metadata?.labels;
    const services = docs.filter((d) => d.kind === 'Service' && matches(d.spec?.selector, apiLabels));
    if (services.length === 0) problems.push('no Service selects the API pods');
    for (const svc of services) {
      for (const w of all.filter((x) => x.kind !== api.workload.kind || x.name !== api.workload.name))
        if (matches(svc.spec.selector, w.template.metadata?.labels))
          problems.push(`Service ${svc.metadata.name} also selects ${w.kind} ${w.name} pods`);
      for (const p of svc.spec.ports ?? []) {
        if (resolvePort(api.container, p.targetPort ?? p.port) !== port)
          problems.push(
            `Service ${svc.metadata.name}: targetPort ${p.targetPort} does not reach API port ${port}`,
          );
      }
    }
    const pdbs = docs.filter(
      (d) => d.kind === 'PodDisruptionBudget' && matches(d.spec?.selector?.matchLabels, apiLabels),
    );
    if (pdbs.length === 0) problems.push('no PodDisruptionBudget covers the API pods');
  }

  if (worker) {
    const { env } = probed(worker, 'worker', 'WORKER_HTTP_PORT', 'WORKER_HTTP_HOST', SPEC.workerPort);
    const raw = env.WORKER_SHUTDOWN_GRACE;
    const graceMs = raw === undefined ? (codeDefault('WORKER_SHUTDOWN_GRACE') as number) : parseDuration(raw);
    const tgps = worker.workload.template.spec.terminationGracePeriodSeconds ?? 30; // Kubernetes default
    if (graceMs === undefined) problems.push(`worker: WORKER_SHUTDOWN_GRACE "${raw}" is not a duration`);
    else if (tgps * 1000 < graceMs + GRACE_MARGIN_S * 1000)
      problems.push(
        `worker ${worker.workload.name}: terminationGracePeriodSeconds ${tgps} must exceed WORKER_SHUTDOWN_GRACE ` +
          `(${graceMs / 1000}s) by at least ${GRACE_MARGIN_S}s`,
      );
  }

  if (reaper) {
    if (reaper.workload.kind !== 'CronJob')
      problems.push(`reaper runs in a ${reaper.workload.kind}, not a CronJob`);
    else if (reaper.workload.manifest.spec?.concurrencyPolicy !== 'Forbid')
      problems.push(`CronJob ${reaper.workload.name}: concurrencyPolicy must be Forbid`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// Docker Compose (AI server)

export interface ComposeService {
  image?: string;
  profiles?: string[];
  entrypoint?: string[] | string;
  command?: string[] | string;
  ports?: (string | { target: number; published?: number | string })[];
  healthcheck?: { test?: string[] | string };
  volumes?: (string | { target: string })[];
  deploy?: {
    resources?: {
      reservations?: { devices?: { driver?: string; capabilities?: string[]; count?: unknown }[] };
    };
  };
}
export interface ComposeFile {
  services?: Record<string, ComposeService>;
}

const tokens = (v: string[] | string | undefined) =>
  (Array.isArray(v) ? v : (v ?? '').split(/\s+/)).map(String);

/** `--flag value` or `--flag=value`; vLLM accepts `-` and `_` in flag names alike. */
export function flagValue(args: string[], flag: string): string | undefined {
  const norm = (s: string) => s.replace(/_/g, '-');
  for (let i = 0; i < args.length; i++) {
    const a = norm(args[i]!);
    if (a === norm(flag)) return args[i + 1];
    if (a.startsWith(`${norm(flag)}=`)) return args[i]!.slice(flag.length + 1);
  }
  return undefined;
}

function publishedPorts(s: ComposeService): { published: number; target: number }[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') return { published: Number(p.published ?? p.target), target: p.target };
    const parts = String(p).split(':');
    const target = Number(parts.at(-1));
    return { published: Number(parts.length > 1 ? parts.at(-2) : target), target };
  });
}

export const AUDIO_SERVICES = [
  {
    service: 'qwen-audio',
    profile: 'qwen-audio',
    port: 8003,
    model: codeDefault('QWEN_AUDIO_MODEL') as string,
    flags: {} as Record<string, string>,
  },
  {
    service: 'voxtral-small',
    profile: 'voxtral-small',
    port: 8004,
    model: codeDefault('VOXTRAL_MODEL') as string,
    flags: { '--tokenizer_mode': 'mistral', '--config_format': 'mistral', '--load_format': 'mistral' },
  },
] as const;

export function checkCompose(file: ComposeFile): string[] {
  const problems: string[] = [];
  const services = file.services ?? {};
  // Nothing may start with a plain `docker compose up`: every service needs a profile.
  for (const [name, s] of Object.entries(services))
    if (!s.profiles || s.profiles.length === 0) problems.push(`${name}: no profile, so it starts by default`);

  for (const want of AUDIO_SERVICES) {
    const s = services[want.service];
    if (!s) {
      problems.push(`${want.service}: missing`);
      continue;
    }
    const at = want.service;
    if (!s.profiles?.includes(want.profile)) problems.push(`${at}: not under profile ${want.profile}`);
    const argv = [...tokens(s.entrypoint), ...tokens(s.command)];
    const cmdline = argv.join(' ');
    if (!/vllm/.test(`${s.image ?? ''} ${cmdline}`)) problems.push(`${at}: does not run vLLM`);
    if (!argv.includes(want.model)) problems.push(`${at}: does not serve ${want.model}`);
    const served = flagValue(argv, '--served-model-name');
    if (served !== undefined && served !== want.model)
      problems.push(`${at}: served model name ${served} differs from the AI Service default ${want.model}`);
    const port = Number(flagValue(argv, '--port') ?? 8000);
    const mapping = publishedPorts(s).find((p) => p.published === want.port);
    if (!mapping) problems.push(`${at}: does not publish port ${want.port}`);
    else if (mapping.target !== port)
      problems.push(`${at}: publishes ${want.port} to ${mapping.target}, vLLM listens on ${port}`);
    for (const [flag, value] of Object.entries(want.flags))
      if (flagValue(argv, flag) !== value) problems.push(`${at}: needs ${flag} ${value}`);
    for (const flag of ['--max-model-len', '--gpu-memory-utilization'])
      if (flagValue(argv, flag) === undefined) problems.push(`${at}: sets no ${flag}`);
    const gpu = s.deploy?.resources?.reservations?.devices?.some(
      (d) => d.driver === 'nvidia' || d.capabilities?.includes('gpu'),
    );
    if (!gpu) problems.push(`${at}: no GPU reservation (deploy.resources.reservations.devices)`);
    if (!tokens(s.healthcheck?.test).join(' ').includes('/health'))
      problems.push(`${at}: healthcheck does not call /health`);
    const cache = (s.volumes ?? []).some((v) =>
      (typeof v === 'string' ? v : v.target).includes('/root/.cache/huggingface'),
    );
    if (!cache) problems.push(`${at}: no model cache volume on /root/.cache/huggingface`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

/** `dist/….mjs` paths the Dockerfile names: the entry points it promises. */
export function dockerEntryPoints(dockerfile: string): string[] {
  return [...new Set([...dockerfile.matchAll(/dist\/[\w./-]+\.mjs/g)].map((m) => m[0]))];
}

export function checkDockerfile(text: string): string[] {
  const problems: string[] = [];
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => /^FROM\s/i.test(l));
  if (stages.length < 2) problems.push('not multi-stage (build tools would ship in the runtime image)');
  const lastFrom = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  const runtime = lines.slice(lastFrom);
  const entries = dockerEntryPoints(text);
  for (const e of SPEC.entryPoints) if (!entries.includes(e)) problems.push(`does not name ${e}`);
  const user = runtime.findLast((l) => /^USER\s/i.test(l))?.split(/\s+/)[1];
  if (!user) problems.push('runtime stage sets no USER (runs as root)');
  else if (!/^[1-9]\d*(:\d+)?$/.test(user))
    problems.push(`runtime USER ${user} is not a non-zero numeric uid`);
  const cmd = runtime.findLast((l) => /^CMD\s/i.test(l));
  if (!cmd?.includes('dist/server.mjs')) problems.push('default CMD is not the API (dist/server.mjs)');
  if (!runtime.some((l) => /^COPY\b.*\bdist\b/.test(l))) problems.push('runtime stage does not copy dist/');
  if (runtime.some((l) => /^COPY\s+\.\s/.test(l)))
    problems.push('runtime stage copies the whole build context');
  if (!lines.some((l) => /npm run build/.test(l))) problems.push('never runs npm run build');
  return problems;
}

export function checkDockerignore(text: string): string[] {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const problems: string[] = [];
  for (const must of ['node_modules', 'dist', '.git', '.env', '**/secrets.env'])
    if (!patterns.includes(must)) problems.push(`does not exclude ${must}`);
  // What `COPY . .` in the build stage needs to build.
  for (const keep of [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'lib',
    'functions',
    'workers',
    'scripts',
    'migrations',
  ])
    if (patterns.includes(keep) || patterns.includes(`/${keep}`))
      problems.push(`excludes ${keep}, which the build needs`);
  return problems;
}

// ---------------------------------------------------------------------------------------
// wrangler.toml: the subset used here (tables, string/bool/array-of-string values).

export type TomlValue = string | boolean | number | string[];
export function parseSimpleToml(text: string): Record<string, Record<string, TomlValue>> {
  const out: Record<string, Record<string, TomlValue>> = { '': {} };
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[([\w.-]+)\]$/.exec(line);
    if (header) {
      table = header[1]!;
      out[table] ??= {};
      continue;
    }
    const kv = /^([\w-]+)\s*=\s*(.+)$/.exec(line);
    if (!kv) throw new Error(`unsupported TOML line: ${line}`);
    const value = kv[2]!.replace(/\s+#.*$/, '');
    let parsed: TomlValue;
    if (value.startsWith('"')) parsed = JSON.parse(value) as string;
    else if (value === 'true' || value === 'false') parsed = value === 'true';
    else if (value.startsWith('[')) parsed = JSON.parse(value) as string[];
    else parsed = Number(value);
    out[table]![kv[1]!] = parsed;
  }
  return out;
}

export function checkWrangler(toml: Record<string, Record<string, TomlValue>>, dir: string): string[] {
  const problems: string[] = [];
  const top = toml[''] ?? {};
  const main = String(top.main ?? '');
  if (!/^(\.\.\/)+dist\/functions\/[\w-]+\.mjs$/.test(main))
    problems.push(`main ${main} is not a dist/functions/<name>.mjs bundle`);
  else if (resolve(dir, main) !== path(main.replace(/^(\.\.\/)+/, '')))
    problems.push(`main ${main} does not resolve to the repository's dist/`);
  const reaper = toml['env.reaper'];
  if (!reaper) problems.push('no [env.reaper] Worker');
  else if (!existsSync(resolve(dir, String(reaper.main))))
    problems.push(`reaper main ${reaper.main} does not exist`);
  const crons = toml['env.reaper.triggers']?.crons;
  if (!Array.isArray(crons) || crons.length === 0) problems.push('reaper has no cron trigger');
  for (const [table, values] of Object.entries(toml)) {
    if (!/(^|\.)vars$/.test(table)) continue;
    for (const key of Object.keys(values)) {
      if (!KNOWN.has(key)) problems.push(`[${table}] unknown variable ${key}`);
      if (SECRET.has(key))
        problems.push(`[${table}] secret ${key} belongs in \`wrangler secret put\`, not vars`);
    }
    if (values.NODE_ENV !== 'production') problems.push(`[${table}] NODE_ENV is not production`);
  }
  return problems;
}
