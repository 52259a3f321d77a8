// A transcription job across TRANSCRIPTION_PROVIDERS, in order, for A/B comparison: every
// provider runs and is recorded in `attempts`; the main text/segments (the telephony
// contract) come from the first provider that succeeded.
import { audioApiKey } from '../config/load.ts';
import type { Config, TranscriptionProviderName } from '../config/schema.ts';
import type { FailureCategory } from '../jobs/categories.ts';
import { loadAudio } from './audio-input.ts';
import { transcribeAudioLlm } from './audio-llm.ts';
import { cancelledError, ProviderError, toProviderError } from './errors.ts';
import type { AudioInput, ProviderTranscript, TranscriptionAttempt, TranscriptionResult } from './types.ts';
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

/**
 * Loads the job's audio once and runs every configured provider. Throws a ProviderError
 * when the audio cannot be loaded (no attempts), when `signal` fires (`cancelled`), or
 * when every provider failed (the most actionable category, `attempts` attached).
 */
export async function transcribe(
  input: unknown,
  config: Config,
  signal?: AbortSignal,
): Promise<TranscriptionResult> {
  const started = performance.now();
  const diarize =
    !!input && typeof input === 'object' && (input as Record<string, unknown>)['diarize'] === true;
  const audio = await loadAudio(input, config, signal);

  const attempts: TranscriptionAttempt[] = [];
  const failures: ProviderError[] = [];
  let winner: { name: TranscriptionProviderName; transcript: ProviderTranscript } | undefined;

  for (const name of config.TRANSCRIPTION_PROVIDERS) {
    if (signal?.aborted) throw withAttempts(cancelledError('transcription', signal.reason), attempts);
    const p = plan(name, config, diarize);
    const attemptStarted = performance.now();
    if (!p.run) {
      const error = new ProviderError({
        category: 'unsupported',
        provider: name,
        message: `${name} is listed in TRANSCRIPTION_PROVIDERS but ${p.urlVariable} is not set`,
      });
      failures.push(error);
      attempts.push({
        provider: name,
        model: p.model,
        status: 'skipped',
        text: '',
        segments: [],
        duration_ms: 0,
        error: { category: error.category, message: error.message },
      });
      continue;
    }
    try {
      const transcript = await p.run(audio, signal);
      attempts.push({
        provider: name,
        model: transcript.model,
        status: 'completed',
        text: transcript.text,
        segments: transcript.segments,
        ...(transcript.language && { language: transcript.language }),
        duration_ms: ms(attemptStarted),
        error: null,
      });
      winner ??= { name, transcript };
    } catch (err) {
      const error = toProviderError(err, name);
      attempts.push({
        provider: name,
        model: p.model,
        status: 'failed',
        text: '',
        segments: [],
        duration_ms: ms(attemptStarted),
        error: {
          category: error.category,
          message: error.message,
          ...(error.status !== undefined && { status: error.status }),
        },
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
  return {
    text: transcript.text,
    segments: transcript.segments,
    ...(language && { language }),
    provider: winner.name,
    model: transcript.model,
    attempts,
    duration_ms: ms(started),
  };
}

function withAttempts(error: ProviderError, attempts: TranscriptionAttempt[]): ProviderError {
  error.attempts = attempts;
  return error;
}
