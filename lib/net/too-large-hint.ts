// What a 413 says on the routes whose body can carry audio: base64 audio over
// MAX_BODY_BYTES is the common cause, and `audio_url` is the documented way to send big
// files (the worker downloads it, through the URL guard, up to AUDIO_MAX_BYTES).
// lib/http/app.ts builds the 413; it asks this module for the message and details, so
// the route list and the wording live beside the audio rules. No node:* imports: the
// edge bundles use it.

/** Routes whose JSON body may hold `input.audio_base64` (create one job, create a batch). */
const AUDIO_ROUTES = [/^\/api\/v1\/jobs\/?$/, /^\/api\/v1\/jobs\/batch\/?$/];

export interface TooLargeText {
  message: string;
  details: { limit_bytes: number; hint?: string };
}

/** The 413 message and details for a body over `limitBytes` sent to `method path`. */
export function tooLargeText(method: string, path: string, limitBytes: number): TooLargeText {
  const base = `request body exceeds ${limitBytes} bytes`;
  if (method.toUpperCase() !== 'POST' || !AUDIO_ROUTES.some((r) => r.test(path))) {
    return { message: base, details: { limit_bytes: limitBytes } };
  }
  const hint =
    'send large audio as input.audio_url (an http(s) link the worker downloads, up to AUDIO_MAX_BYTES) ' +
    'instead of input.audio_base64';
  return { message: `${base} (MAX_BODY_BYTES); ${hint}`, details: { limit_bytes: limitBytes, hint } };
}
