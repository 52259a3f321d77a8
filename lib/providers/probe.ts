// Cheap reachability probes for GET /api/v1/providers/status. Uses Web fetch (not undici)
// so the status function also runs on edge platforms; all probes run in parallel under
// PROVIDER_PROBE_TIMEOUT. Results never carry keys or URL credentials.
import { audioApiKey } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { safeOrigin, sanitizeMessage } from './errors.ts';
import { styleFromPaths, type WhisperXApi, whisperxUrls } from './whisperx-style.ts';

export interface ProviderProbe {
  name: 'llm' | 'whisperx' | 'qwen2-audio' | 'voxtral-small';
  configured: boolean;
  /** null when not configured (nothing to check). */
  reachable: boolean | null;
  latency_ms: number | null;
  /** Served model ids (OpenAI-compatible servers). */
  models?: string[];
  /** The configured model's window, when the server reports it (vLLM `max_model_len`). */
  max_model_len?: number;
  /** The model the service is configured to use. */
  model?: string;
  error?: string;
  /** Origin only. */
  url?: string;
  /** WhisperX: the server contract in use (WHISPERX_API, or detected from /openapi.json). */
  api?: string;
  /** WhisperX with several instances (WHISPERX_URL=a,b): each one's state. */
  instances?: { url?: string; reachable: boolean; api?: string; error?: string }[];
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

interface Target {
  name: ProviderProbe['name'];
  baseUrl: string | undefined;
  apiKey?: string | undefined;
  model?: string;
  kind: 'openai' | 'whisperx';
  api?: WhisperXApi;
}

function v1(base: string, path: string): string {
  const b = base.replace(/\/+$/, '');
  return `${/\/v1$/.test(b) ? b : `${b}/v1`}${path}`;
}

/** fetch() rejects URLs with credentials; move them to a Basic header instead. */
function splitCredentials(url: string, headers: Record<string, string>): string {
  const u = new URL(url);
  if ((u.username || u.password) && !headers['authorization']) {
    headers['authorization'] =
      `Basic ${btoa(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`)}`;
  }
  u.username = '';
  u.password = '';
  return u.toString();
}

async function probeOne(t: Target, timeoutMs: number, fetchImpl: FetchLike): Promise<ProviderProbe> {
  const base: ProviderProbe = { name: t.name, configured: !!t.baseUrl, reachable: null, latency_ms: null };
  if (t.model) base.model = t.model;
  if (!t.baseUrl) return base;
  const origin = safeOrigin(t.baseUrl);
  if (origin) base.url = origin;
  const secrets = [t.apiKey];
  const signal = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  const get = (url: string) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (t.apiKey) headers['authorization'] = `Bearer ${t.apiKey}`;
    return fetchImpl(splitCredentials(url, headers), { headers, signal });
  };
  try {
    if (t.kind === 'whisperx') {
      let res = await get(`${t.baseUrl.replace(/\/+$/, '')}/openapi.json`);
      let detected: string | undefined;
      let readDoc = false;
      if (res.status === 404) {
        await res.body?.cancel();
        res = await get(`${t.baseUrl.replace(/\/+$/, '')}/docs`);
        await res.body?.cancel();
      } else if (res.ok) {
        try {
          const doc = (await res.json()) as { paths?: Record<string, unknown> };
          detected = styleFromPaths(Object.keys(doc.paths ?? {}));
          readDoc = true;
        } catch {
          detected = undefined;
        }
      } else await res.body?.cancel();
      base.latency_ms = Math.round(performance.now() - started);
      base.reachable = true;
      const configured = t.api && t.api !== 'auto' ? t.api : undefined;
      const api = configured ?? detected;
      if (api) base.api = api;
      if (!res.ok) base.error = `HTTP ${res.status}`;
      else if (configured && detected && configured !== detected) {
        base.error = `WHISPERX_API=${configured} but the server speaks ${detected}`;
      } else if (readDoc && !api) {
        base.error = 'serves none of /asr, /speech-to-text, /v1/audio/transcriptions';
      }
      return base;
    }
    const res = await get(v1(t.baseUrl, '/models'));
    const text = await res.text();
    base.latency_ms = Math.round(performance.now() - started);
    // Any HTTP answer means the server is up; a 401 is a key problem, not an outage.
    base.reachable = true;
    if (!res.ok) {
      base.error =
        res.status === 401 || res.status === 403
          ? `HTTP ${res.status}: check the API key`
          : `HTTP ${res.status}`;
      return base;
    }
    const data = readModels(text);
    if (!data) {
      base.error = '/v1/models answer is not the OpenAI model list';
      return base;
    }
    base.models = data.map((m) => m.id);
    const mine = data.find((m) => m.id === t.model) ?? (data.length === 1 ? data[0] : undefined);
    if (mine?.maxModelLen !== undefined) base.max_model_len = mine.maxModelLen;
    if (t.model && !base.models.includes(t.model)) base.error = `configured model ${t.model} is not served`;
    return base;
  } catch (err) {
    base.latency_ms = null;
    base.reachable = false;
    const timedOut = signal.aborted;
    const msg = err instanceof Error ? `${err.message}${causeCode(err)}` : String(err);
    base.error = sanitizeMessage(timedOut ? `no answer within ${timeoutMs} ms` : msg, secrets);
    return base;
  }
}

function causeCode(err: Error): string {
  const c = (err as { cause?: { code?: unknown } }).cause?.code;
  return typeof c === 'string' ? ` (${c})` : '';
}

function readModels(text: string): { id: string; maxModelLen?: number }[] | undefined {
  try {
    const o = JSON.parse(text) as { data?: unknown };
    if (!Array.isArray(o.data)) return undefined;
    return o.data
      .filter((m): m is Record<string, unknown> => !!m && typeof m === 'object' && typeof m.id === 'string')
      .map((m) => ({
        id: m['id'] as string,
        ...(typeof m['max_model_len'] === 'number' && { maxModelLen: m['max_model_len'] }),
      }));
  } catch {
    return undefined;
  }
}

/** Probes the LLM, WhisperX, Qwen2-Audio and Voxtral endpoints in parallel. */
export async function probeProviders(config: Config, fetchImpl: FetchLike = fetch): Promise<ProviderProbe[]> {
  const qwenKey = audioApiKey(config, 'qwen2-audio');
  const voxtralKey = audioApiKey(config, 'voxtral-small');
  const targets: Target[] = [
    {
      name: 'llm',
      baseUrl: config.LLM_BASE_URL,
      apiKey: config.LLM_API_KEY,
      model: config.LLM_MODEL,
      kind: 'openai',
    },
    { name: 'whisperx', baseUrl: config.WHISPERX_URL, kind: 'whisperx', api: config.WHISPERX_API },
    {
      name: 'qwen2-audio',
      baseUrl: config.QWEN_AUDIO_BASE_URL,
      apiKey: qwenKey,
      model: config.QWEN_AUDIO_MODEL,
      kind: 'openai',
    },
    {
      name: 'voxtral-small',
      baseUrl: config.VOXTRAL_BASE_URL,
      apiKey: voxtralKey,
      model: config.VOXTRAL_MODEL,
      kind: 'openai',
    },
  ];
  // All in parallel (WhisperX's instances too): the whole answer takes one probe timeout at most.
  return Promise.all(
    targets.map((t) =>
      t.kind === 'whisperx'
        ? probeWhisperX(config, fetchImpl)
        : probeOne(t, config.PROVIDER_PROBE_TIMEOUT, fetchImpl),
    ),
  );
}

/** Every WhisperX instance in parallel; the entry is reachable when one of them is. */
async function probeWhisperX(config: Config, fetchImpl: FetchLike): Promise<ProviderProbe> {
  const urls = config.WHISPERX_URL ? whisperxUrls(config.WHISPERX_URL) : [];
  const one = (baseUrl: string | undefined) =>
    probeOne(
      { name: 'whisperx', baseUrl, kind: 'whisperx', api: config.WHISPERX_API },
      config.PROVIDER_PROBE_TIMEOUT,
      fetchImpl,
    );
  if (urls.length <= 1) return one(urls[0]);
  const each = await Promise.all(urls.map(one));
  const up = each.filter((p) => p.reachable);
  const first = up[0] ?? each[0]!;
  const down = each.length - up.length;
  return {
    ...first,
    reachable: up.length > 0,
    ...(down > 0 && { error: `${down} of ${each.length} instances unreachable` }),
    instances: each.map((p) => ({
      ...(p.url && { url: p.url }),
      reachable: p.reachable === true,
      ...(p.api && { api: p.api }),
      ...(p.error && { error: p.error }),
    })),
  };
}
