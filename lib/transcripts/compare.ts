// What each completed transcription attempt carries for the A/B comparison (audio length,
// real-time factor, word count, agreement with every other completed provider) and the
// job-level `comparison` state. Pure functions: the chain (lib/providers/transcribe.ts)
// and the deferred comparison (lib/jobs/comparisons.ts via the worker) use the same ones.
import type { ComparisonState, TranscriptionAttempt } from '../providers/types.ts';
import { parseWav } from '../providers/wav.ts';
import { agreement, wordCount } from './wer.ts';

const round = (n: number, places: number) => {
  const f = 10 ** places;
  return Math.round(n * f) / f;
};

/** The audio's length: from a WAV header, else the caller's `duration_sec`; undefined when unknown. */
export function audioSeconds(audio: { bytes: Uint8Array; durationSec?: number }): number | undefined {
  try {
    const s = parseWav(audio.bytes).durationSec;
    if (s > 0) return s;
  } catch {
    // Not a WAV we can read: fall back to the caller's hint.
  }
  return audio.durationSec !== undefined && audio.durationSec > 0 ? audio.durationSec : undefined;
}

/**
 * Adds audio_duration_sec, rtf and word_count to a completed attempt. Without a known
 * audio length, the end of the last segment stands in for it (null when there is none).
 */
export function measured(attempt: TranscriptionAttempt, audioSec: number | undefined): TranscriptionAttempt {
  const lastEnd = attempt.segments.reduce((m, s) => Math.max(m, s.end), 0);
  const seconds = audioSec ?? (lastEnd > 0 ? lastEnd : undefined);
  return {
    ...attempt,
    audio_duration_sec: seconds === undefined ? null : round(seconds, 3),
    rtf: seconds === undefined ? null : round(attempt.duration_ms / 1000 / seconds, 4),
    word_count: wordCount(attempt.text),
    agreement: attempt.agreement ?? {},
  };
}

/**
 * Agreement between attempt `i` and every other completed attempt, stored on both
 * sides; pairs not involving `i` are left as they were. Returns a new array.
 */
export function withAgreements(attempts: readonly TranscriptionAttempt[], i: number): TranscriptionAttempt[] {
  const out = attempts.map((a) => ({ ...a }));
  const me = out[i];
  if (me?.status !== 'completed') return out;
  const mine = { ...me.agreement };
  out.forEach((other, j) => {
    if (j === i || other.status !== 'completed') return;
    mine[other.provider] = agreement(me.text, other.text);
    other.agreement = { ...other.agreement, [me.provider]: agreement(other.text, me.text) };
  });
  me.agreement = mine;
  return out;
}

/** Agreement for every pair of completed attempts (the inline comparison). */
export function withAllAgreements(attempts: readonly TranscriptionAttempt[]): TranscriptionAttempt[] {
  let out = [...attempts];
  for (let i = 0; i < out.length; i++) out = withAgreements(out, i);
  return out;
}

/** `pending` while any entry is; otherwise `complete`. (`skipped` is decided when sampling.) */
export const comparisonState = (attempts: readonly { status: string }[]): ComparisonState =>
  attempts.some((a) => a.status === 'pending') ? 'pending' : 'complete';
