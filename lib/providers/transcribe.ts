// A transcription job across TRANSCRIPTION_PROVIDERS, in order, for A/B comparison. The
// main text/segments (the telephony contract) come from the first provider that succeeded;
// every provider is recorded in `attempts`. When the others run is the job's choice:
//
//   compare: "deferred" (default)  the job completes as soon as the first provider in order
//            has answered; the providers after it are `pending` attempts, run afterwards as
//            `transcribe_compare` jobs (migration 006, lib/jobs/comparisons.ts) at lower
//            priority, so the caller waits for one provider, not the sum of all of them.
//   compare: "inline"              the old behaviour: every provider runs in series before
//            the job completes.
//
// Sampling: a job is compared with probability `compare_sample` (0–1, per job) or else
// TRANSCRIPTION_COMPARE_SAMPLE (default 1); an explicit `compare: "inline"` without a
// per-job sample is always compared. A job not sampled runs only until the first success,
// the rest are `skipped` attempts and result.comparison is `skipped`.
import { audioApiKey } from '../config/load.ts';
import type { Config, TranscriptionProviderName } from '../config/schema.ts';
import type { FailureCategory } from '../jobs/categories.ts';
import { audioSeconds, comparisonState, measured, withAllAgreements } from '../transcripts/compare.ts';
import { loadAudio } from './audio-input.ts';
import { transcribeAudioLlm } from './audio-llm.ts';
import { cancelledError, ProviderError, toProviderError } from './errors.ts';
import type {
  AudioInput,
  ComparisonState,
  ProviderTranscript,
  TranscriptionAttempt,
  TranscriptionResult,
} from './types.ts';
import { transcribeWhisperX, WHISPERX_MODEL } from './whisperx.ts';

interface ProviderPlan {
  model: string;
  /** The variable to set when the provider is listed but has no URL. */
  urlVariable: string;
  run?: (audio: AudioInput, signal: AbortSignal | undefined) => Promise<ProviderTranscript>;
}

function plan(name: TranscriptionProviderName, config: Config, diarize: boolean): ProviderPlan {
  if (name === 'whisperx') {
    const url = config.WHISPERX_URL;
    return {
      model: WHISPERX_MODEL,
      urlVariable: 'WHISPERX_URL',
      ...(url && {
        run: (audio, signal) =>
          transcribeWhisperX(audio, {
            url,
            timeoutMs: config.WHISPERX_TIMEOUT,
            api: config.WHISPERX_API,
            pollIntervalMs: config.WHISPERX_POLL_INTERVAL,
            diarize,
            ...(signal && { signal }),
          }),
      }),
    };
  }
  const isQwen = name === 'qwen2-audio';
  const baseUrl = isQwen ? config.QWEN_AUDIO_BASE_URL : config.VOXTRAL_BASE_URL;
  const model = isQwen ? config.QWEN_AUDIO_MODEL : config.VOXTRAL_MODEL;
  const apiKey = audioApiKey(config, name);
  return {
    model,
    urlVariable: isQwen ? 'QWEN_AUDIO_BASE_URL' : 'VOXTRAL_BASE_URL',
    ...(baseUrl && {
      run: (audio, signal) =>
        transcribeAudioLlm(audio, {
          provider: name,
          baseUrl,
          model,
          prompt: config.AUDIO_LLM_PROMPT,
          maxTokens: config.AUDIO_LLM_MAX_TOKENS,
          timeoutMs: config.AUDIO_LLM_TIMEOUT,
          ...(apiKey && { apiKey }),
          ...(signal && { signal }),
        }),
    }),
  };
}

// When every provider failed, the job's category is the one the worker can act on best:
// anything retryable first (another run may succeed), rate limits before the rest so the
// Retry-After hint is kept; among final ones, configuration problems before job problems.
const PRIORITY: FailureCategory[] = [
  'rate_limited',
  'provider_unavailable',
  'timeout',
  'provider_error',
  'invalid_output',
  'internal',
  'auth_error',
  'quota_exceeded',
  'model_not_found',
  'context_length_exceeded',
  'invalid_input',
  'unsupported',
  'cancelled',
];

function mostActionable(errors: ProviderError[]): ProviderError {
  const rank = (e: ProviderError) => {
    const i = PRIORITY.indexOf(e.category);
    return i === -1 ? PRIORITY.length : i;
  };
  return errors.reduce((best, e) => (rank(e) < rank(best) ? e : best));
}

const ms = (since: number) => Math.round(performance.now() - since);

export type CompareMode = 'deferred' | 'inline';

export interface CompareChoice {
  mode: CompareMode;
  /** Whether this job's comparison runs at all. */
  sampled: boolean;
}

const invalid = (message: string) =>
  new ProviderError({ category: 'invalid_input', provider: 'transcription', message });

/**
 * Reads `compare` and `compare_sample` from a job input. `random` is injectable so tests
 * can pin the draw; a sample of 1 always compares, 0 never.
 */
export function compareChoice(
  input: unknown,
  config: Config,
  random: () => number = Math.random,
): CompareChoice {
  const o = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const compare = o['compare'];
  if (compare !== undefined && compare !== 'deferred' && compare !== 'inline') {
    throw invalid('compare must be "deferred" (default) or "inline"');
  }
  const perJob = o['compare_sample'];
  if (perJob !== undefined && (typeof perJob !== 'number' || !(perJob >= 0 && perJob <= 1))) {
    throw invalid('compare_sample must be a number from 0 to 1');
  }
  const mode: CompareMode = compare === 'inline' ? 'inline' : 'deferred';
  // An explicit inline request is a request to compare; a per-job sample still rules.
  const sample = perJob ?? (mode === 'inline' ? 1 : config.TRANSCRIPTION_COMPARE_SAMPLE);
  return { mode, sampled: sample >= 1 || (sample > 0 && random() < sample) };
}

/** Whether a provider of the list has its URL set (it can run in this process). */
export function providerConfigured(name: TranscriptionProviderName, config: Config): boolean {
  return plan(name, config, false).run !== undefined;
}

/**
 * One provider on loaded audio: a completed attempt with its measurements, or a thrown
 * ProviderError (`unsupported` when its URL is not set). The deferred comparison calls it
 * alone; the chain calls it per provider.
 */
export async function runProvider(
  name: TranscriptionProviderName,
  audio: AudioInput,
  config: Config,
  opts: { diarize: boolean; signal?: AbortSignal | undefined },
): Promise<TranscriptionAttempt> {
  const p = plan(name, config, opts.diarize);
  if (!p.run) {
    throw new ProviderError({
      category: 'unsupported',
      provider: name,
      message: `${name} is listed in TRANSCRIPTION_PROVIDERS but ${p.urlVariable} is not set`,
    });
  }
  const started = performance.now();
  const transcript = await p.run(audio, opts.signal);
  return measured(
    {
      provider: name,
      model: transcript.model,
      status: 'completed',
      text: transcript.text,
      segments: transcript.segments,
      ...(transcript.language && { language: transcript.language }),
      duration_ms: ms(started),
      error: null,
    },
    audioSeconds(audio),
  );
}

export const isDiarize = (input: unknown): boolean =>
  !!input && typeof input === 'object' && (input as Record<string, unknown>)['diarize'] === true;

/**
 * Loads the job's audio once and runs the providers (see the header for which and when).
 * Throws a ProviderError when the input or audio is bad (no attempts), when `signal`
 * fires (`cancelled`), or when every provider that ran failed (the most actionable
 * category, `attempts` attached).
 */
export async function transcribe(
  input: unknown,
  config: Config,
  signal?: AbortSignal,
  random?: () => number,
): Promise<TranscriptionResult> {
  const started = performance.now();
  const diarize = isDiarize(input);
  const choice = compareChoice(input, config, random);
  const audio = await loadAudio(input, config, signal);

  const attempts: TranscriptionAttempt[] = [];
  const failures: ProviderError[] = [];
  let winner: { name: TranscriptionProviderName; transcript: TranscriptionAttempt } | undefined;
  let notSampled = false;

  for (const name of config.TRANSCRIPTION_PROVIDERS) {
    if (signal?.aborted) throw withAttempts(cancelledError('transcription', signal.reason), attempts);
    const p = plan(name, config, diarize);
    if (!p.run) {
      const error = new ProviderError({
        category: 'unsupported',
        provider: name,
        message: `${name} is listed in TRANSCRIPTION_PROVIDERS but ${p.urlVariable} is not set`,
      });
      if (!winner) failures.push(error);
      attempts.push(notRun(name, p.model, 'skipped', { category: error.category, message: error.message }));
      continue;
    }
    if (winner && !choice.sampled) {
      notSampled = true;
      attempts.push(notRun(name, p.model, 'skipped', null));
      continue;
    }
    if (winner && choice.mode === 'deferred') {
      attempts.push(notRun(name, p.model, 'pending', null));
      continue;
    }
    const attemptStarted = performance.now();
    try {
      const attempt = await runProvider(name, audio, config, { diarize, signal });
      attempts.push(attempt);
      winner ??= { name, transcript: attempt };
    } catch (err) {
      const error = toProviderError(err, name);
      attempts.push({
        ...notRun(name, p.model, 'failed', {
          category: error.category,
          message: error.message,
          ...(error.status !== undefined && { status: error.status }),
        }),
        duration_ms: ms(attemptStarted),
      });
      // Lease lost, job cancelled or shutdown: stop now, the remaining providers must not run.
      if (error.category === 'cancelled' || signal?.aborted) {
        throw withAttempts(
          error.category === 'cancelled' ? error : cancelledError(name, signal?.reason),
          attempts,
        );
      }
      failures.push(error);
    }
  }

  if (!winner) {
    const worst = failures.length > 0 ? mostActionable(failures) : undefined;
    const summary = attempts.map((a) => `${a.provider}: ${a.error?.category ?? a.status}`).join(', ');
    const error = new ProviderError({
      category: worst?.category ?? 'unsupported',
      provider: worst?.provider ?? 'transcription',
      message: `all transcription providers failed (${summary})${worst ? `; ${worst.message}` : ''}`,
      ...(worst?.status !== undefined && { status: worst.status }),
      ...(worst?.retryAfterMs !== undefined && { retryAfterMs: worst.retryAfterMs }),
    });
    throw withAttempts(error, attempts);
  }

  const { transcript } = winner;
  const language = transcript.language ?? audio.language;
  const comparison: ComparisonState = notSampled ? 'skipped' : comparisonState(attempts);
  return {
    text: transcript.text,
    segments: transcript.segments,
    ...(language && { language }),
    provider: winner.name,
    model: transcript.model,
    attempts: withAllAgreements(attempts),
    comparison,
    duration_ms: ms(started),
  };
}

function notRun(
  provider: TranscriptionProviderName,
  model: string,
  status: 'skipped' | 'pending' | 'failed',
  error: TranscriptionAttempt['error'],
): TranscriptionAttempt {
  return { provider, model, status, text: '', segments: [], duration_ms: 0, error };
}

function withAttempts(error: ProviderError, attempts: TranscriptionAttempt[]): ProviderError {
  error.attempts = attempts;
  return error;
}
