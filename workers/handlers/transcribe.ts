// Transcription handlers for `transcribe` jobs. Accepted model profiles:
//
//   whisperx        runs TRANSCRIPTION_PROVIDERS in their configured order (the A/B
//                   comparison); `text`/`segments` come from the first provider that
//                   succeeded. This is the profile telephony sends, so the operator's
//                   provider list applies to telephony's traffic unchanged, even when it
//                   no longer starts with whisperx.
//   qwen2-audio     that provider alone: a caller naming a model gets that model, and the
//   voxtral-small   single GPU is not spent on comparisons nobody asked for.
//
// A profile is served only when it can run: `whisperx` needs at least one provider of the
// list to have its URL (listed providers without one are recorded as skipped attempts),
// a single-provider profile needs that provider's URL. Otherwise the job stays pending for
// a worker that has it, and /worker/status says what is missing. Each profile has its own
// circuit, so a dead Voxtral does not stop the WhisperX chain.
//
// Provider contracts (lib/providers): WhisperX speaks whisper-asr-webservice
// (POST {WHISPERX_URL}/asr?task=transcribe&output=json, multipart `audio_file`); the
// audio LLMs get /v1/chat/completions with an `audio_url` data-URL part.
import type { Config, TranscriptionProviderName } from '../../lib/config/schema.ts';
import { isProviderError } from '../../lib/providers/errors.ts';
import { transcribe } from '../../lib/providers/transcribe.ts';
import type { TranscriptionAttempt } from '../../lib/providers/types.ts';
import type { Metrics } from '../../lib/telemetry/port.ts';
import type { Handler, HandlerEntry } from '../handler.ts';

export const TRANSCRIBE_TASK_TYPES = ['transcribe'] as const;
/** The profile that runs the configured provider chain. */
export const CHAIN_PROFILE = 'whisperx';
const SINGLE_PROFILES = ['qwen2-audio', 'voxtral-small'] as const;

const URL_VARIABLE: Record<
  TranscriptionProviderName,
  'WHISPERX_URL' | 'QWEN_AUDIO_BASE_URL' | 'VOXTRAL_BASE_URL'
> = {
  whisperx: 'WHISPERX_URL',
  'qwen2-audio': 'QWEN_AUDIO_BASE_URL',
  'voxtral-small': 'VOXTRAL_BASE_URL',
};

const hasUrl = (config: Config, p: TranscriptionProviderName) => Boolean(config[URL_VARIABLE[p]]);

export function transcribeHandlers(config: Config): HandlerEntry[] {
  const chain = config.TRANSCRIPTION_PROVIDERS;
  const entries: HandlerEntry[] = [];
  const chainBase = { name: 'transcribe', taskTypes: TRANSCRIBE_TASK_TYPES, modelProfiles: [CHAIN_PROFILE] };
  if (chain.some((p) => hasUrl(config, p))) {
    entries.push(handler(chainBase, 'transcription', config));
  } else {
    const vars = chain.map((p) => URL_VARIABLE[p]).join(' or ');
    entries.push({
      ...chainBase,
      reason: `no provider of TRANSCRIPTION_PROVIDERS (${chain.join(',')}) has a URL: set ${vars}`,
    });
  }
  for (const p of SINGLE_PROFILES) {
    const base = { name: `transcribe:${p}`, taskTypes: TRANSCRIBE_TASK_TYPES, modelProfiles: [p] };
    if (hasUrl(config, p)) entries.push(handler(base, p, { ...config, TRANSCRIPTION_PROVIDERS: [p] }));
    else entries.push({ ...base, reason: `${URL_VARIABLE[p]} is not set` });
  }
  return entries;
}

function handler(
  base: Pick<Handler, 'name' | 'taskTypes' | 'modelProfiles'>,
  provider: string,
  config: Config,
): Handler {
  return {
    ...base,
    provider,
    // The chain and the single-provider profiles share the transcription slots.
    pool: 'transcribe',
    async run(job, { signal, log, metrics }) {
      const input = job.input as Record<string, unknown>;
      const b64 = input['audio_base64'];
      // Sizes only: never the audio, nor the URL (signed URLs carry credentials).
      log.debug(
        {
          audio_base64_chars: typeof b64 === 'string' ? b64.length : 0,
          audio_url: typeof input['audio_url'] === 'string',
          providers: config.TRANSCRIPTION_PROVIDERS,
        },
        'transcribing',
      );
      try {
        const r = await transcribe(job.input, config, signal);
        recordAttempts(metrics, r.attempts);
        log.debug(
          {
            provider: r.provider,
            segments: r.segments.length,
            text_chars: r.text.length,
            duration_ms: r.duration_ms,
          },
          'transcribed',
        );
        return { ...r };
      } catch (err) {
        if (isProviderError(err) && err.attempts) recordAttempts(metrics, err.attempts);
        throw err;
      }
    },
    failureResult: (err) => (isProviderError(err) && err.attempts ? { attempts: err.attempts } : undefined),
  };
}

/** Per-provider latency and outcome, so the A/B comparison shows in Prometheus too. */
function recordAttempts(metrics: Metrics, attempts: readonly TranscriptionAttempt[]): void {
  for (const a of attempts) {
    if (a.status === 'skipped') continue;
    metrics.providerCall(a.provider, a.error?.category ?? 'ok', a.duration_ms / 1000);
  }
}
