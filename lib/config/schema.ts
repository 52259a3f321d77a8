// The service's configuration: every variable of the specification with its default,
// parsed by one schema so a bad value stops start-up with the variable's name.
// Uses zod/mini because this module is bundled into every edge function.
import * as z from 'zod/mini';
import { isValidSecret } from '../webhooks/sign.ts';
import { DURATION_HINT, formatDuration, MIN_LEASE_MS, parseDuration } from './duration.ts';

/** A duration variable, in milliseconds; a bare number is seconds (lib/config/duration.ts). */
const duration = (fallback: string, opts: { min?: number; why?: string } = {}) =>
  z.prefault(
    z.pipe(
      z.string(),
      z.transform((v, ctx) => {
        const ms = parseDuration(v);
        if (ms === undefined) {
          ctx.issues.push({ code: 'custom', message: `expected ${DURATION_HINT}, got "${v}"`, input: v });
          return z.NEVER;
        }
        if (opts.min !== undefined && ms < opts.min) {
          ctx.issues.push({
            code: 'custom',
            message: `must be at least ${formatDuration(opts.min)}, got "${v}" (${formatDuration(ms)})${opts.why ? `: ${opts.why}` : ''}`,
            input: v,
          });
          return z.NEVER;
        }
        return ms;
      }),
    ),
    fallback,
  );

const int = (fallback: number, min: number, max: number) =>
  z.prefault(
    z.pipe(
      z.string(),
      z.transform((v, ctx) => {
        const n = Number(v);
        if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) {
          ctx.issues.push({
            code: 'custom',
            message: `expected an integer ${min}..${max}, got "${v}"`,
            input: v,
          });
          return z.NEVER;
        }
        return n;
      }),
    ),
    String(fallback),
  );

/** An integer that may be left unset (empty counts as unset): the worker derives a default. */
const optionalInt = (min: number, max: number) =>
  z.optional(
    z.pipe(
      z.string(),
      z.transform((v, ctx) => {
        if (v.trim() === '') return undefined;
        const n = Number(v);
        if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) {
          ctx.issues.push({
            code: 'custom',
            message: `expected an integer ${min}..${max}, got "${v}"`,
            input: v,
          });
          return z.NEVER;
        }
        return n;
      }),
    ),
  );

const bool = (fallback: boolean) =>
  z.prefault(
    z.pipe(
      z.string(),
      z.transform((v, ctx) => {
        const s = v.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(s)) return true;
        if (['false', '0', 'no', 'off'].includes(s)) return false;
        ctx.issues.push({ code: 'custom', message: `expected true or false, got "${v}"`, input: v });
        return z.NEVER;
      }),
    ),
    String(fallback),
  );

/** A fraction 0–1 (a sampling rate). */
const fraction = (fallback: number) =>
  z.prefault(
    z.pipe(
      z.string(),
      z.transform((v, ctx) => {
        const n = Number(v.trim());
        if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
          ctx.issues.push({ code: 'custom', message: `expected a number from 0 to 1, got "${v}"`, input: v });
          return z.NEVER;
        }
        return n;
      }),
    ),
    String(fallback),
  );

const url = z.optional(
  z.pipe(
    z.string(),
    z.transform((v, ctx) => {
      const s = v.trim();
      if (s === '') return undefined;
      try {
        const u = new URL(s);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
        return s.replace(/\/+$/, '');
      } catch {
        // Never echo the value: URLs can carry credentials.
        ctx.issues.push({ code: 'custom', message: 'expected an http(s) URL', input: '[redacted]' });
        return z.NEVER;
      }
    }),
  ),
);

/** A comma-separated list of http(s) URLs (several instances of one service), kept as the normalised list text. */
const urlList = z.optional(
  z.pipe(
    z.string(),
    z.transform((v, ctx) => {
      const parts = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (parts.length === 0) return undefined;
      const out: string[] = [];
      for (const s of parts) {
        try {
          const u = new URL(s);
          if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
          out.push(s.replace(/\/+$/, ''));
        } catch {
          ctx.issues.push({
            code: 'custom',
            message: 'expected http(s) URLs separated by commas',
            input: '[redacted]',
          });
          return z.NEVER;
        }
      }
      return out.join(',');
    }),
  ),
);

const optionalText = z.optional(
  z.pipe(
    z.string(),
    z.transform((v) => (v.trim() === '' ? undefined : v.trim())),
  ),
);

export const TRANSCRIPTION_PROVIDER_NAMES = ['whisperx', 'qwen2-audio', 'voxtral-small'] as const;
export type TranscriptionProviderName = (typeof TRANSCRIPTION_PROVIDER_NAMES)[number];

const providerList = z.prefault(
  z.pipe(
    z.string(),
    z.transform((v, ctx) => {
      const names = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = names.filter((n) => !(TRANSCRIPTION_PROVIDER_NAMES as readonly string[]).includes(n));
      if (bad.length > 0 || names.length === 0) {
        ctx.issues.push({
          code: 'custom',
          message: `expected a comma-separated list of ${TRANSCRIPTION_PROVIDER_NAMES.join(', ')}; unknown: ${bad.join(', ') || '(empty)'}`,
          input: v,
        });
        return z.NEVER;
      }
      return [...new Set(names)] as TranscriptionProviderName[];
    }),
  ),
  'whisperx',
);

/**
 * "name=number" lists such as PROFILE_LIMITS=whisperx=2,qwen2.5-14b=16 (queue control,
 * issue 11). `*` may name the default for every other name.
 */
const numberMap = (min: number, max: number, integer: boolean) =>
  z.prefault(
    z.pipe(
      z.string(),
      z.transform((v, ctx) => {
        const out: Record<string, number> = {};
        for (const part of v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)) {
          const eq = part.lastIndexOf('=');
          const name = part.slice(0, eq).trim();
          const text = part.slice(eq + 1).trim();
          const n = Number(text);
          const ok = integer ? /^-?\d+$/.test(text) : /^\d+(\.\d+)?$/.test(text);
          if (eq <= 0 || !name || !ok || n < min || n > max) {
            ctx.issues.push({
              code: 'custom',
              message: `expected name=${integer ? 'integer' : 'number'} pairs (${min}..${max}) separated by commas, got "${part}"`,
              input: v,
            });
            return z.NEVER;
          }
          out[name] = n;
        }
        return out;
      }),
    ),
    '',
  );
/** `owner=whsec_…,owner2=whsec_…`: the signing secret of each caller's webhooks. */
const ownerSecrets = z.prefault(
  z.pipe(
    z.string(),
    z.transform((v, ctx) => {
      const out: Record<string, string> = {};
      for (const part of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const eq = part.indexOf('=');
        const owner = part.slice(0, eq).trim();
        const secret = part.slice(eq + 1).trim();
        if (eq <= 0 || !isValidSecret(secret)) {
          // Never echo the value: it holds secrets.
          ctx.issues.push({
            code: 'custom',
            message: 'expected owner_service=whsec_<base64 of ≥ 16 bytes> pairs, comma-separated',
            input: '[redacted]',
          });
          return z.NEVER;
        }
        out[owner] = secret;
      }
      return out;
    }),
  ),
  '',
);

/** Comma-separated host names (`*.example.com` allowed); empty means "no allow-list". */
const hostList = z.prefault(
  z.pipe(
    z.string(),
    z.transform((v) =>
      v
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  ),
  '',
);

export const DEFAULT_AUDIO_LLM_PROMPT =
  'Transcribe this audio verbatim in its original language. Answer with the transcript text only.';

/** Env var name → parser. The keys are the binding names from the specification. */
export const configShape = {
  NODE_ENV: z._default(z.string(), 'development'),
  LOG_LEVEL: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  HTTP_HOST: z._default(z.string(), '0.0.0.0'),
  HTTP_PORT: int(8080, 0, 65535),
  DATABASE_URL: optionalText,
  DATABASE_POOL_MAX: int(10, 1, 500),
  MIGRATE_ON_START: bool(true),
  AI_SERVICE_TOKEN: optionalText,
  MAX_BODY_BYTES: int(1_048_576, 1024, 64 * 1_048_576),
  JOB_RETENTION: duration('30d'),
  LLM_BASE_URL: url,
  LLM_API_KEY: optionalText,
  LLM_MODEL: z._default(z.string(), 'qwen2.5-14b'),
  LLM_TIMEOUT: duration('5m'),
  TRANSCRIPTION_PROVIDERS: providerList,
  /** Share of transcription jobs whose other providers are compared (issue 12). */
  TRANSCRIPTION_COMPARE_SAMPLE: fraction(1),
  WHISPERX_URL: urlList,
  WHISPERX_TIMEOUT: duration('10m'),
  WHISPERX_API: z._default(z.enum(['auto', 'asr', 'fastapi', 'openai']), 'auto'),
  WHISPERX_POLL_INTERVAL: duration('1s'),
  QWEN_AUDIO_BASE_URL: url,
  QWEN_AUDIO_MODEL: z._default(z.string(), 'Qwen/Qwen2-Audio-7B-Instruct'),
  QWEN_AUDIO_API_KEY: optionalText,
  VOXTRAL_BASE_URL: url,
  VOXTRAL_MODEL: z._default(z.string(), 'mistralai/Voxtral-Small-24B-2507'),
  VOXTRAL_API_KEY: optionalText,
  AUDIO_LLM_API_KEY: optionalText,
  AUDIO_LLM_PROMPT: z._default(z.string(), DEFAULT_AUDIO_LLM_PROMPT),
  AUDIO_LLM_MAX_TOKENS: int(4096, 1, 1_000_000),
  AUDIO_LLM_TIMEOUT: duration('10m'),
  AUDIO_MAX_BYTES: int(200 * 1_048_576, 1024, 2 * 1024 * 1_048_576),
  AUDIO_DOWNLOAD_TIMEOUT: duration('2m'),
  AUDIO_URL_ALLOWED_HOSTS: optionalText,
  FFMPEG_PATH: z._default(z.string(), 'ffmpeg'),
  AUDIO_DECODE_TIMEOUT: duration('2m'),
  PROVIDER_PROBE_TIMEOUT: duration('3s'),
  INFRA_STATUS_URL: url,
  INFRA_STATUS_TOKEN: optionalText,
  WORKER_ID: optionalText,
  WORKER_HTTP_HOST: z._default(z.string(), '0.0.0.0'),
  WORKER_HTTP_PORT: int(8081, 0, 65535),
  WORKER_POLL_INTERVAL: duration('2s'),
  WORKER_CLAIM_LIMIT: int(4, 1, 1000),
  // Per-handler slots within WORKER_CLAIM_LIMIT (workers/capacity.ts derives them when unset).
  WORKER_LLM_CONCURRENCY: optionalInt(1, 1000),
  WORKER_TRANSCRIBE_CONCURRENCY: optionalInt(1, 1000),
  WORKER_COMPARE_CONCURRENCY: optionalInt(1, 1000),
  WORKER_LEASE_TIMEOUT: duration('15m', {
    min: MIN_LEASE_MS,
    why: 'a shorter lease expires between heartbeats and the job runs twice',
  }),
  WORKER_SHUTDOWN_GRACE: duration('25s'),
  WORKER_REAP_INTERVAL: duration('30s'),
  // Queue control (issue 11): limits and token budgets per group, fairness between callers.
  PROFILE_LIMITS: numberMap(0, 1_000_000, true),
  TASK_TYPE_LIMITS: numberMap(0, 1_000_000, true),
  PROFILE_TOKEN_BUDGETS: numberMap(1, 1_000_000_000, true),
  // 1: a budgeted job reserves its max_tokens; below 1, that quantile of what the
  // profile's recent answers used of their max_tokens (lib/jobs/claim.ts, `learned`).
  TOKEN_ESTIMATE_QUANTILE: fraction(1),
  OWNER_WEIGHTS: numberMap(0.001, 1000, false),
  OWNER_MAX_PRIORITY: numberMap(-1_000_000, 1_000_000, true),
  REJECT_UNSERVED: bool(false),
  WORKER_LIVE_WINDOW: duration('2m'),
  WEBHOOK_SECRET: optionalText,
  WEBHOOK_SECRETS: ownerSecrets,
  WEBHOOK_ALLOWED_HOSTS: hostList,
  WEBHOOK_TIMEOUT: duration('10s'),
  WEBHOOK_RETRY_HORIZON: duration('24h'),
  WEBHOOK_POLL_INTERVAL: duration('1s'),
} as const;

export const configSchema = z.object(configShape);
export type Config = z.infer<typeof configSchema>;
export type ConfigKey = keyof typeof configShape;
/** Variables whose values are secrets: never logged, never returned. */
export const SECRET_KEYS: readonly ConfigKey[] = [
  'DATABASE_URL',
  'AI_SERVICE_TOKEN',
  'LLM_API_KEY',
  'QWEN_AUDIO_API_KEY',
  'VOXTRAL_API_KEY',
  'AUDIO_LLM_API_KEY',
  'INFRA_STATUS_TOKEN',
  'WEBHOOK_SECRET',
  'WEBHOOK_SECRETS',
];
