// The provider client layer for the Node workers. probe.ts is deliberately not re-exported:
// edge-bundled functions import it directly so they do not pull undici in.

export { planChunks, seamOverlap } from './audio-chunks.ts';
export { type DecodedAudio, decodeAudio, decodedAudio, monoMix, pcmWav } from './audio-decode.ts';
export { type AudioLimits, audioUrlPolicy, loadAudio, sniffAudioMime } from './audio-input.ts';
export {
  type AudioLlmOptions,
  type AudioLlmProvider,
  cleanTranscript,
  transcribeAudioLlm,
} from './audio-llm.ts';
export {
  classifyHttpError,
  classifyNetworkError,
  isProviderError,
  ProviderError,
  parseRetryAfter,
  safeOrigin,
  safeUrl,
  sanitizeMessage,
  toProviderError,
} from './errors.ts';
export { closeHttpPools, dispatcherFor, getJson, Multipart, postJson, request } from './http.ts';
export {
  buildChatBody,
  type ChatMessage,
  type ChatOptions,
  chatCompletionsUrl,
  postChat,
  runChat,
} from './llm.ts';
export { transcribe } from './transcribe.ts';
export type * from './types.ts';
export { isWav, parseWav, splitWav, type WavChunk, WavError, type WavInfo } from './wav.ts';
export {
  resetWhisperXInstances,
  transcribeWhisperX,
  WHISPERX_MODEL,
  type WhisperXApi,
  type WhisperXOptions,
  whisperxInstances,
} from './whisperx.ts';
