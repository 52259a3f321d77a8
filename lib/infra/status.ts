// Relays the AI-server sidecar's telemetry (INFRA_STATUS_URL) in one normalised shape.
// The sidecar contract is in docs/infra-sidecar.md; besides that shape this accepts the
// raw forms a quick sidecar tends to send (nvidia-smi CSV field names, `docker inspect`
// objects, vLLM metric names), so an SRE can write the sidecar in a few lines of shell.
export interface GpuStatus {
  index: number | null;
  name: string | null;
  uuid: string | null;
  utilization_pct: number | null;
  memory_used_mb: number | null;
  memory_total_mb: number | null;
  temperature_c: number | null;
  power_w: number | null;
}
export interface ContainerStatus {
  name: string;
  image: string | null;
  status: string | null;
  health: string | null;
  started_at: string | null;
  restart_count: number | null;
}
export interface VllmStatus {
  name: string;
  model: string | null;
  requests_running: number | null;
  requests_waiting: number | null;
  kv_cache_usage: number | null;
  prompt_tokens_total: number | null;
  generation_tokens_total: number | null;
}
export interface WhisperxStatus {
  name: string;
  reachable: boolean | null;
  latency_ms: number | null;
  busy: boolean | null;
}
export type InfraStatus =
  | { configured: false }
  | { configured: true; reachable: false; error: string; latency_ms: number | null }
  | {
      configured: true;
      reachable: true;
      latency_ms: number;
      collected_at: string | null;
      gpus: GpuStatus[];
      containers: ContainerStatus[];
      vllm: VllmStatus[];
      whisperx: WhisperxStatus[];
    };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (...vs: unknown[]): number | null => {
  for (const v of vs) {
    const n = typeof v === 'string' ? Number.parseFloat(v) : v;
    if (typeof n === 'number' && Number.isFinite(n)) return n;
  }
  return null;
};
const str = (...vs: unknown[]): string | null => {
  for (const v of vs) if (typeof v === 'string' && v !== '') return v;
  return null;
};
const list = (v: unknown): Obj[] =>
  Array.isArray(v)
    ? v.filter(isObj)
    : isObj(v)
      ? Object.entries(v).map(([name, o]) => (isObj(o) ? { name, ...o } : { name }))
      : [];
const get = (o: Obj, path: string): unknown =>
  path.split('.').reduce<unknown>((acc, k) => (isObj(acc) ? acc[k] : undefined), o);

export function normaliseInfra(
  raw: unknown,
): Omit<Extract<InfraStatus, { reachable: true }>, 'configured' | 'reachable' | 'latency_ms'> {
  const o = isObj(raw) ? raw : {};
  return {
    collected_at: str(o.collected_at, o.timestamp),
    gpus: list(o.gpus).map((g) => ({
      index: num(g.index),
      name: str(g.name),
      uuid: str(g.uuid),
      utilization_pct: num(g.utilization_pct, g['utilization.gpu'], g.DCGM_FI_DEV_GPU_UTIL),
      memory_used_mb: num(g.memory_used_mb, g['memory.used'], g.DCGM_FI_DEV_FB_USED),
      memory_total_mb: num(
        g.memory_total_mb,
        g['memory.total'],
        num(g.DCGM_FI_DEV_FB_USED) !== null && num(g.DCGM_FI_DEV_FB_FREE) !== null
          ? num(g.DCGM_FI_DEV_FB_USED)! + num(g.DCGM_FI_DEV_FB_FREE)!
          : null,
      ),
      temperature_c: num(g.temperature_c, g['temperature.gpu'], g.DCGM_FI_DEV_GPU_TEMP),
      power_w: num(g.power_w, g['power.draw'], g.DCGM_FI_DEV_POWER_USAGE),
    })),
    containers: list(o.containers).map((c) => ({
      name: (str(c.name, c.Name) ?? '?').replace(/^\//, ''),
      image: str(c.image, get(c, 'Config.Image')),
      status: str(c.status, get(c, 'State.Status')),
      health: str(c.health, get(c, 'State.Health.Status')),
      started_at: str(c.started_at, get(c, 'State.StartedAt')),
      restart_count: num(c.restart_count, c.RestartCount),
    })),
    vllm: list(o.vllm).map((v) => ({
      name: str(v.name) ?? 'vllm',
      model: str(v.model, v.model_name),
      requests_running: num(v.requests_running, v['vllm:num_requests_running']),
      requests_waiting: num(v.requests_waiting, v['vllm:num_requests_waiting']),
      kv_cache_usage: num(v.kv_cache_usage, v['vllm:kv_cache_usage_perc'], v['vllm:gpu_cache_usage_perc']),
      prompt_tokens_total: num(v.prompt_tokens_total, v['vllm:prompt_tokens_total']),
      generation_tokens_total: num(v.generation_tokens_total, v['vllm:generation_tokens_total']),
    })),
    whisperx: list(o.whisperx).map((w) => ({
      name: str(w.name) ?? 'whisperx',
      reachable: typeof w.reachable === 'boolean' ? w.reachable : null,
      latency_ms: num(w.latency_ms),
      busy: typeof w.busy === 'boolean' ? w.busy : null,
    })),
  };
}

export async function fetchInfraStatus(opts: {
  url: string | undefined;
  token?: string;
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => number;
}): Promise<InfraStatus> {
  if (!opts.url) return { configured: false };
  const t0 = opts.now();
  try {
    const res = await opts.fetch(opts.url, {
      headers: {
        accept: 'application/json',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const latency = opts.now() - t0;
    if (!res.ok)
      return {
        configured: true,
        reachable: false,
        error: `sidecar answered ${res.status}`,
        latency_ms: latency,
      };
    let body: unknown;
    try {
      body = JSON.parse(await res.text());
    } catch {
      return {
        configured: true,
        reachable: false,
        error: 'sidecar answered invalid JSON',
        latency_ms: latency,
      };
    }
    return { configured: true, reachable: true, latency_ms: latency, ...normaliseInfra(body) };
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    return {
      configured: true,
      reachable: false,
      error: timedOut ? `no answer within ${opts.timeoutMs} ms` : 'sidecar unreachable',
      latency_ms: null,
    };
  }
}
