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

export async function startFakeWhisperX(
  options: { behaviour?: WhisperXBehaviour } = {},
): Promise<FakeWhisperX> {
  const fake = await startFakeServer<AsrAnswer>({
    mainPath: ASR_PATH,
    errorShape: 'detail',
    answer: (req, a) => {
      if (req.method !== 'POST') return json(405, { detail: 'Method Not Allowed' });
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
