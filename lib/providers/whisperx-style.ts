// Which WhisperX server contract a base URL speaks, from the paths its /openapi.json lists.
// Its own module (no undici) so the edge-bundled provider probe can use it too.
export type WhisperXApi = 'auto' | 'asr' | 'fastapi' | 'openai';
export type WhisperXStyle = Exclude<WhisperXApi, 'auto'>;

/** The style named by a server's OpenAPI paths; undefined when none is recognised. */
export function styleFromPaths(paths: readonly string[]): WhisperXStyle | undefined {
  if (paths.includes('/asr')) return 'asr';
  if (paths.includes('/speech-to-text')) return 'fastapi';
  if (paths.some((p) => /\/v1\/audio\/transcriptions$/.test(p))) return 'openai';
  return undefined;
}

export const whisperxUrls = (url: string): string[] =>
  url
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter(Boolean);
