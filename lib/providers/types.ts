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

export type AttemptStatus = 'completed' | 'failed' | 'skipped';

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
}

export interface TranscriptionResult {
  text: string;
  segments: TranscriptSegment[];
  language?: string;
  provider: TranscriptionProviderName;
  model: string;
  attempts: TranscriptionAttempt[];
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
