// A loopback whisper-asr-webservice (engine whisperx) for tests.
//
//   const wx = await startFakeWhisperX();
//   // config: WHISPERX_URL = wx.url
//   wx.setBehaviour({ kind: 'answer', segments: [{ start: 0, end: 1.5, text: 'Hi', speaker: 'SPEAKER_00' }] });
//   wx.queue({ kind: 'empty' });                       // next /asr call: 500 with no body
//   ... run the code under test ...
//   const req = wx.last('/asr')!;
//   req.query.language; req.files?.audio_file?.bytes;  // query and multipart fields are recorded
//   await wx.close();
//
// Endpoints (the real service's shapes):
//   POST /asr?task=transcribe&output=json&...   multipart field `audio_file`; answers JSON
//        with content-type text/plain (as the real service does): {text?, segments[], language}
//   GET  /openapi.json                          OpenAPI document listing /asr and /detect-language
//   GET  /docs                                  Swagger HTML
// A missing `audio_file` answers FastAPI's 422 {"detail":[...]}.
//
// Behaviours: { kind: 'answer', segments?, text? (null = omit `text`, as some versions do),
// language?, delayMs? } or a function of the request, plus every common behaviour from
// fake-server.ts (error bodies default to FastAPI's {"detail": "..."} shape).
import {
  type BehaviourSpec,
  type FakeServer,
  json,
  type RecordedRequest,
  startFakeServer,
} from './fake-server.ts';

export type { RecordedFile, RecordedRequest } from './fake-server.ts';

export interface FakeSegment {
  start: number;
  end: number;
  text: string;
  speaker?: string;
}

export interface AsrAnswer {
  kind: 'answer';
  segments?: FakeSegment[] | ((req: RecordedRequest) => FakeSegment[]);
  /** Full text; default the segments joined; null leaves the field out. */
  text?: string | null;
  /** Default: the request's `language`, else "en". */
  language?: string;
  delayMs?: number;
}

export type WhisperXBehaviour = BehaviourSpec<AsrAnswer>;
export type FakeWhisperX = FakeServer<AsrAnswer>;

export const ASR_PATH = '/asr';

export const DEFAULT_SEGMENTS: FakeSegment[] = [
  { start: 0, end: 2.5, text: ' Hello, this is a test call.' },
  { start: 2.5, end: 4.75, text: ' Thank you for calling.' },
];

/**
 * Which server the fake is (additive; default 'asr'):
 *   asr      whisper-asr-webservice, as above
 *   fastapi  whisperX-FastAPI: POST /speech-to-text (multipart `file`) → {identifier, message};
 *            GET /task/{identifier} → {status: 'processing'} for `pollsBeforeDone` polls,
 *            then {status: 'completed', result: {segments}, metadata: {language}}
 *            (or {status: 'failed', error} when the answer's text is "FAIL")
 *   openai   POST /v1/audio/transcriptions (multipart `file`, `model`, `response_format`)
 *            → verbose_json {text, segments, language, duration}
 * Each serves /openapi.json listing its own paths (for style detection).
 */
export type WhisperXStyle = 'asr' | 'fastapi' | 'openai';
export const FASTAPI_SUBMIT_PATH = '/speech-to-text';
export const OPENAI_TRANSCRIPTIONS_PATH = '/v1/audio/transcriptions';

export async function startFakeWhisperX(
  options: { behaviour?: WhisperXBehaviour; style?: WhisperXStyle; pollsBeforeDone?: number } = {},
): Promise<FakeWhisperX> {
  const style = options.style ?? 'asr';
  const tasks = new Map<string, { polls: number; body: Record<string, unknown> }>();
  const fileField = style === 'asr' ? 'audio_file' : 'file';
  const mainPath =
    style === 'asr' ? ASR_PATH : style === 'fastapi' ? FASTAPI_SUBMIT_PATH : OPENAI_TRANSCRIPTIONS_PATH;
  const fake = await startFakeServer<AsrAnswer>({
    mainPath,
    errorShape: 'detail',
    answer: (req, a) => {
      if (req.method !== 'POST') return json(405, { detail: 'Method Not Allowed' });
      if (style !== 'asr') {
        if (!req.files?.[fileField]) {
          return json(422, {
            detail: [{ type: 'missing', loc: ['body', fileField], msg: 'Field required' }],
          });
        }
        const segs = typeof a.segments === 'function' ? a.segments(req) : (a.segments ?? DEFAULT_SEGMENTS);
        const text = a.text === undefined || a.text === null ? segs.map((x) => x.text).join('') : a.text;
        const language = a.language ?? req.query['language'] ?? req.fields?.['language'] ?? 'en';
        if (style === 'openai') {
          return json(200, {
            task: 'transcribe',
            language,
            duration: segs.at(-1)?.end ?? 0,
            text,
            segments: segs.map((x, id) => ({
              id,
              seek: 0,
              start: x.start,
              end: x.end,
              text: x.text,
              tokens: [],
              temperature: 0,
            })),
          });
        }
        const identifier = crypto.randomUUID();
        tasks.set(identifier, {
          polls: 0,
          body:
            text === 'FAIL'
              ? { status: 'failed', result: null, error: 'CUDA out of memory' }
              : {
                  status: 'completed',
                  result: { segments: segs.map((x) => ({ ...x, words: [] })), word_segments: [] },
                  metadata: { language, task_type: 'full_process' },
                  error: null,
                },
        });
        return json(200, { identifier, message: 'Task queued' });
      }
      if (!req.files?.['audio_file']) {
        return json(422, {
          detail: [{ type: 'missing', loc: ['body', 'audio_file'], msg: 'Field required', input: null }],
        });
      }
      const segs = typeof a.segments === 'function' ? a.segments(req) : (a.segments ?? DEFAULT_SEGMENTS);
      const segments = segs.map((s, id) => ({
        id,
        seek: 0,
        start: s.start,
        end: s.end,
        text: s.text,
        tokens: [50364, 2425],
        temperature: 0,
        avg_logprob: -0.2,
        compression_ratio: 1.1,
        no_speech_prob: 0.01,
        words: [{ word: s.text.trim().split(/\s+/)[0] ?? '', start: s.start, end: s.end, score: 0.9 }],
        ...(s.speaker !== undefined && { speaker: s.speaker }),
      }));
      const text = a.text === undefined ? segs.map((s) => s.text).join('') : a.text;
      const body = {
        ...(text !== null && { text }),
        segments,
        language: a.language ?? req.query['language'] ?? 'en',
      };
      return {
        status: 200,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: JSON.stringify(body),
      };
    },
    routes: (req) => {
      if (style === 'fastapi' && req.path.startsWith('/task/')) {
        const task = tasks.get(req.path.slice(6));
        if (!task) return json(404, { detail: 'Task not found' });
        task.polls++;
        if (task.polls <= (options.pollsBeforeDone ?? 2)) {
          return json(200, { status: 'processing', result: null, metadata: {}, error: null });
        }
        return json(200, task.body);
      }
      if (req.path === '/openapi.json' && style !== 'asr') {
        const paths =
          style === 'fastapi'
            ? { '/speech-to-text': { post: {} }, '/task/{identifier}': { get: {} }, '/task/all': { get: {} } }
            : { '/v1/audio/transcriptions': { post: {} }, '/v1/models': { get: {} } };
        return json(200, { openapi: '3.1.0', info: { title: style, version: '1' }, paths });
      }
      if (req.path === '/openapi.json') {
        return json(200, {
          openapi: '3.1.0',
          info: { title: 'Whisper Asr Webservice', version: '1.8.2' },
          paths: {
            '/asr': { post: { summary: 'Asr' } },
            '/detect-language': { post: { summary: 'Detect Language' } },
          },
        });
      }
      if (req.path === '/docs') {
        return {
          status: 200,
          headers: { 'content-type': 'text/html' },
          body: '<html><title>Swagger UI</title></html>',
        };
      }
      return undefined;
    },
  });
  if (options.behaviour) fake.setBehaviour(options.behaviour);
  return fake;
}

/** Alias so tests can `import * as fakeWhisperX from ...; await fakeWhisperX.start()`. */
export const start = startFakeWhisperX;
