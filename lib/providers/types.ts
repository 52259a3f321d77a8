// Shapes shared by the provider clients and the workers that store their results.
// Field names are snake_case where they end up in a job result (the caller reads them).
import type { TranscriptionProviderName } from '../config/schema.ts';
import type { FailureCategory } from '../jobs/categories.ts';

/** A telephony-compatible transcript segment; `speaker` only when the provider diarized. */
export interface TranscriptSegment {
  start: number;
  end: number;
  text: string;
  speaker?: string;
}

/** What one transcription provider produced for one audio. */
export interface ProviderTranscript {
  text: string;
  segments: TranscriptSegment[];
  language?: string;
  model: string;
}

/** The job's audio, loaded once and handed to every provider. */
export interface AudioInput {
  bytes: Uint8Array;
  mimeType: string;
  filename: string;
  language?: string;
  /** Caller's duration hint in seconds (`duration_sec`); informational: durations come from decoding. */
  durationSec?: number;
  /** Stereo telephony: transcribe each channel on its own and label segments by channel. */
  splitChannels?: boolean;
  /** How to decode for providers that need PCM (audio-decode.ts); defaults apply when absent. */
  decoder?: { ffmpegPath: string; timeoutMs: number };
}

/**
 * `pending`: a comparison provider that will run after the job completed (its own
 * `transcribe_compare` job fills the entry in). Shared with the ops console: keep the names.
 */
export type AttemptStatus = 'completed' | 'failed' | 'skipped' | 'pending';

/** Where the job's comparison stands: `skipped` when this job was not sampled. */
export type ComparisonState = 'pending' | 'complete' | 'skipped';

export interface AttemptError {
  category: FailureCategory;
  message: string;
  status?: number;
}

/** One provider's run in an A/B transcription; failed and skipped runs have empty text and segments. */
export interface TranscriptionAttempt {
  provider: TranscriptionProviderName;
  model: string;
  status: AttemptStatus;
  text: string;
  segments: TranscriptSegment[];
  language?: string;
  duration_ms: number;
  error: AttemptError | null;
  /** Completed attempts: the audio's length in seconds, when known (WAV header, `duration_sec`, last segment end). */
  audio_duration_sec?: number | null;
  /** Completed attempts: real-time factor, processing seconds / audio seconds (lower is faster). */
  rtf?: number | null;
  /** Completed attempts: words in the normalised text (what WER counts). */
  word_count?: number;
  /**
   * Completed attempts: {other provider: 1 − WER of this text with the other's text as the
   * reference}, for every other completed provider (both directions are stored).
   */
  agreement?: Partial<Record<TranscriptionProviderName, number>>;
}

export interface TranscriptionResult {
  text: string;
  segments: TranscriptSegment[];
  language?: string;
  provider: TranscriptionProviderName;
  model: string;
  attempts: TranscriptionAttempt[];
  /** `pending` while comparison providers are still to fill in their attempts. */
  comparison: ComparisonState;
  duration_ms: number;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatResult {
  content: string;
  model: string;
  usage: ChatUsage;
  duration_ms: number;
  finish_reason: string | null;
}
