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
// Comparisons (task_type `transcribe_compare`, one handler per provider with a URL, its
// model_profile the provider): a `transcribe` job completes with its first successful
// provider; the providers after it are `pending` attempts that migration 006 enqueues as
// comparison jobs when the transcript completes. Each runs that one provider on the
// parent's audio and records the transcript, its measurements and its agreement with the
// other providers in the parent's result (lib/jobs/comparisons.ts). Unlike other handlers
// it reads and writes the database, but only the parent's result, fenced by its own
// lease; its own job is claimed, leased and ended by the runner like any other, and a
// failure is recorded on the parent by the trigger when the job ends failed. The circuit
// is the provider's, shared with its single-provider `transcribe` handler.
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
import type { Db } from '../../lib/db/port.ts';
import { COMPARE_TASK_TYPE, loadComparison, recordComparison } from '../../lib/jobs/comparisons.ts';
import { loadAudio } from '../../lib/providers/audio-input.ts';
import { isProviderError } from '../../lib/providers/errors.ts';
import { isDiarize, runProvider, transcribe } from '../../lib/providers/transcribe.ts';
import type { TranscriptionAttempt } from '../../lib/providers/types.ts';
import type { Metrics } from '../../lib/telemetry/port.ts';
import { comparisonState, withAgreements } from '../../lib/transcripts/compare.ts';
import type { Handler, HandlerEntry } from '../handler.ts';

export const TRANSCRIBE_TASK_TYPES = ['transcribe'] as const;
export const COMPARE_TASK_TYPES = [COMPARE_TASK_TYPE] as const;
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

/**
 * `db` is needed by the comparison handlers only (they write the parent's result); without
 * it they are listed as disabled.
 */
export function transcribeHandlers(config: Config, db?: Db): HandlerEntry[] {
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
  // Comparisons exist only for providers after the first in the list.
  for (const p of chain.slice(1)) {
    const base = { name: `compare:${p}`, taskTypes: COMPARE_TASK_TYPES, modelProfiles: [p] };
    if (!hasUrl(config, p)) entries.push({ ...base, reason: `${URL_VARIABLE[p]} is not set` });
    else if (!db) entries.push({ ...base, reason: 'comparisons need the database (built without one)' });
    else entries.push(compareHandler(base, p, config, db));
  }
  return entries;
}

function compareHandler(
  base: Pick<Handler, 'name' | 'taskTypes' | 'modelProfiles'>,
  provider: TranscriptionProviderName,
  config: Config,
  db: Db,
): Handler {
  return {
    ...base,
    provider,
    // Their own slots (WORKER_COMPARE_CONCURRENCY): a comparison never holds a transcript's.
    pool: 'compare',
    async run(job, { signal, log }) {
      const target = await loadComparison(db, job.id);
      const entry = target?.attempts[target.index];
      // Parent pruned, or its entry already written (this job re-run after a crash between
      // recording and completing): nothing to do, and no reason to call the provider again.
      if (!target || entry?.['status'] !== 'pending' || entry['provider'] !== provider) {
        log.debug({ parent_gone: !target }, 'comparison has nothing left to do');
        return { outcome: target ? 'not_pending' : 'parent_gone', provider };
      }
      const audio = await loadAudio(target.input, config, signal);
      const attempt = await runProvider(provider, audio, config, {
        diarize: isDiarize(target.input),
        signal,
      });
      const outcome = await recordComparison(
        db,
        { id: job.id, leaseToken: job.lease_token!, workerId: job.worker_id! },
        target,
        (attempts) => {
          const next = [...attempts] as unknown as TranscriptionAttempt[];
          next[target.index] = attempt;
          const merged = withAgreements(next, target.index);
          return { attempts: merged, comparison: comparisonState(merged) };
        },
      );
      log.debug({ parent_id: target.parentId, outcome, duration_ms: attempt.duration_ms }, 'comparison done');
      return {
        outcome,
        parent_id: target.parentId,
        attempt: target.index,
        provider,
        model: attempt.model,
        duration_ms: attempt.duration_ms,
        audio_duration_sec: attempt.audio_duration_sec ?? null,
        rtf: attempt.rtf ?? null,
        word_count: attempt.word_count ?? 0,
      };
    },
  };
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
