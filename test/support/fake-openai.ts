// A loopback vLLM / OpenAI-compatible server for tests (the LLM, Qwen2-Audio, Voxtral).
//
//   const llm = await startFakeOpenAI({ models: ['qwen2.5-14b'], apiKey: 'k' });
//   // config: LLM_BASE_URL = llm.url   (…/v1 is added by the client)
//   llm.queue({ kind: 'rate_limited', retryAfter: 2 });          // next chat call only
//   llm.setBehaviour({ kind: 'answer', content: '{"ok":true}' }); // every later chat call
//   llm.setBehaviour((req) => ({ kind: 'answer', content: `echo ${JSON.stringify(req.json)}` }));
//   ... run the code under test ...
//   expect(llm.last('/v1/chat/completions')?.json).toMatchObject({ model: 'qwen2.5-14b' });
//   await llm.close();
//
// Endpoints (vLLM's real shapes):
//   POST /v1/chat/completions   chat.completion answer; behaviours apply here by default
//   GET  /v1/models             {object:'list', data:[{id, object:'model', max_model_len, ...}]}
//   GET  /health                200, empty body
//   GET  /metrics               Prometheus text with vllm:* metrics
// With `apiKey`, /v1/* answers 401 {"error":"Unauthorized"} without `Authorization: Bearer <apiKey>`.
// With `models`, a chat call for another model answers vLLM's 404 "The model `x` does not exist.".
//
// Behaviours (one-shot with queue(...), standing with setBehaviour(b, path?), or a function
// of the recorded request): { kind: 'answer', content?, model?, finish_reason?, usage?, delayMs? }
// plus the common ones from fake-server.ts: status (any status/body), error (vLLM error JSON,
// shape 'nested' | 'top-level'), rate_limited (429 + Retry-After / retry-after-ms),
// context_length (400 "maximum context length"), garbage (200 non-JSON), empty (500 no body),
// hang (never answers), drop (socket destroyed), drop_mid_body, stall_mid_body, and `delayMs`
// on each for a slow provider.
// Other paths take behaviours too: setBehaviour({ kind: 'hang' }, '/v1/models').
//
// Every request is recorded: method, path, query, headers, raw body, parsed `json`.
import {
  type BehaviourSpec,
  type FakeServer,
  json,
  type RecordedRequest,
  startFakeServer,
} from './fake-server.ts';

export type { RecordedFile, RecordedRequest } from './fake-server.ts';

export interface ChatAnswer {
  kind: 'answer';
  /** The assistant message content; default "fake answer". */
  content?: string | ((req: RecordedRequest) => string);
  /** The `model` field of the answer; default the requested model. */
  model?: string;
  finish_reason?: string | null;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number };
  delayMs?: number;
}

export type OpenAIBehaviour = BehaviourSpec<ChatAnswer>;
export type FakeOpenAI = FakeServer<ChatAnswer>;

export interface FakeOpenAIOptions {
  /** Served model ids; when given, other models get vLLM's 404. Default ['fake-model'] (any model accepted). */
  models?: string[];
  maxModelLen?: number;
  /** Require this bearer token on /v1/* (vLLM --api-key). */
  apiKey?: string;
  /** Standing behaviour for chat calls. */
  behaviour?: OpenAIBehaviour;
}

export const CHAT_PATH = '/v1/chat/completions';

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const models = options.models ?? ['fake-model'];
  const strict = options.models !== undefined;
  const maxModelLen = options.maxModelLen ?? 32768;
  let seq = 0;

  const fake = await startFakeServer<ChatAnswer>({
    mainPath: CHAT_PATH,
    errorShape: 'nested',
    authorize: (req) => {
      if (!options.apiKey || !req.path.startsWith('/v1/')) return undefined;
      return req.headers.authorization === `Bearer ${options.apiKey}`
        ? undefined
        : json(401, { error: 'Unauthorized' });
    },
    answer: (req, a) => {
      if (req.method !== 'POST') return json(405, { detail: 'Method Not Allowed' });
      const body = req.json as { model?: unknown; messages?: unknown } | undefined;
      if (!body || typeof body !== 'object' || !Array.isArray(body.messages)) {
        return json(400, {
          error: { message: 'messages: Field required', type: 'BadRequestError', param: null, code: 400 },
        });
      }
      const model = typeof body.model === 'string' ? body.model : '';
      if (strict && !models.includes(model)) {
        return json(404, {
          error: {
            message: `The model \`${model}\` does not exist.`,
            type: 'NotFoundError',
            param: 'model',
            code: 404,
          },
        });
      }
      const content = typeof a.content === 'function' ? a.content(req) : (a.content ?? 'fake answer');
      const prompt = a.usage?.prompt_tokens ?? 12;
      const completion = a.usage?.completion_tokens ?? Math.max(1, Math.ceil(content.length / 4));
      return json(200, {
        id: `chatcmpl-fake-${++seq}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: a.model ?? model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, reasoning_content: null, tool_calls: [] },
            logprobs: null,
            finish_reason: a.finish_reason === undefined ? 'stop' : a.finish_reason,
            stop_reason: null,
          },
        ],
        usage: {
          prompt_tokens: prompt,
          completion_tokens: completion,
          total_tokens: a.usage?.total_tokens ?? prompt + completion,
          prompt_tokens_details: null,
        },
        prompt_logprobs: null,
      });
    },
    routes: (req) => {
      if (req.path === '/v1/models') {
        return json(200, {
          object: 'list',
          data: models.map((id) => ({
            id,
            object: 'model',
            created: 1_700_000_000,
            owned_by: 'vllm',
            root: id,
            parent: null,
            max_model_len: maxModelLen,
            permission: [],
          })),
        });
      }
      if (req.path === '/health') return { status: 200 };
      if (req.path === '/metrics') {
        const m = models[0];
        const lines = [
          '# TYPE vllm:num_requests_running gauge',
          `vllm:num_requests_running{model_name="${m}"} 1.0`,
          '# TYPE vllm:num_requests_waiting gauge',
          `vllm:num_requests_waiting{model_name="${m}"} 0.0`,
          '# TYPE vllm:kv_cache_usage_perc gauge',
          `vllm:kv_cache_usage_perc{model_name="${m}"} 0.25`,
          '# TYPE vllm:prompt_tokens_total counter',
          `vllm:prompt_tokens_total{model_name="${m}"} 1234.0`,
          '# TYPE vllm:generation_tokens_total counter',
          `vllm:generation_tokens_total{model_name="${m}"} 567.0`,
          '# TYPE vllm:e2e_request_latency_seconds histogram',
          `vllm:e2e_request_latency_seconds_bucket{le="1.0",model_name="${m}"} 3.0`,
          `vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="${m}"} 4.0`,
          `vllm:e2e_request_latency_seconds_sum{model_name="${m}"} 5.5`,
          `vllm:e2e_request_latency_seconds_count{model_name="${m}"} 4.0`,
          '',
        ];
        return {
          status: 200,
          headers: { 'content-type': 'text/plain; version=0.0.4' },
          body: lines.join('\n'),
        };
      }
      return undefined;
    },
  });
  if (options.behaviour) fake.setBehaviour(options.behaviour);
  return fake;
}

/** Alias so tests can `import * as fakeOpenAI from ...; await fakeOpenAI.start()`. */
export const start = startFakeOpenAI;

/** The text and audio parts of the first user message of a recorded chat request. */
export function chatParts(req: RecordedRequest | undefined): {
  text?: string;
  audioUrl?: string;
  system: boolean;
} {
  const body = req?.json as { messages?: { role: string; content: unknown }[] } | undefined;
  const messages = body?.messages ?? [];
  const user = messages.find((m) => m.role === 'user');
  const parts = Array.isArray(user?.content) ? (user.content as Record<string, unknown>[]) : [];
  const text = parts.find((p) => p['type'] === 'text')?.['text'];
  const audio = parts.find((p) => p['type'] === 'audio_url')?.['audio_url'] as { url?: string } | undefined;
  return {
    ...(typeof text === 'string' && { text }),
    ...(typeof audio?.url === 'string' && { audioUrl: audio.url }),
    system: messages.some((m) => m.role === 'system'),
  };
}
