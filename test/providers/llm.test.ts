// The LLM client against a loopback vLLM: request bodies, answers, and every failure category.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeHttpPools } from '../../lib/providers/http.ts';
import { buildChatBody, chatCompletionsUrl, runChat } from '../../lib/providers/llm.ts';
import { CHAT_PATH, type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { failure } from '../support/provider-failure.ts';

const MODEL = 'qwen2.5-14b';
const KEY = 'llm-key-0123456789';
let llm: FakeOpenAI;
const opts = () => ({ baseUrl: llm.url, apiKey: KEY, model: MODEL, timeoutMs: 2000 });

beforeAll(async () => {
  llm = await startFakeOpenAI({ models: [MODEL], apiKey: KEY });
});
beforeEach(() => llm.reset());
afterAll(async () => {
  await llm.close();
  await closeHttpPools();
});

describe('runChat request body', () => {
  it('sends only chat fields for compact input, with the bearer key', async () => {
    llm.setBehaviour({
      kind: 'answer',
      content: '{"label":"spam"}',
      usage: { prompt_tokens: 30, completion_tokens: 5 },
    });
    const result = await runChat(
      {
        system: 'Answer as JSON.',
        user: 'Classify this text',
        max_tokens: 256,
        temperature: 0.2,
        response_format: { type: 'json_object' },
        call_id: 'beeline/42',
        customer: { phone: '+70000000000' },
        audio_url: 'https://example.test/a.wav',
      },
      opts(),
    );
    expect(result).toMatchObject({
      content: '{"label":"spam"}',
      model: MODEL,
      usage: { prompt_tokens: 30, completion_tokens: 5, total_tokens: 35 },
      finish_reason: 'stop',
    });
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);
    const req = llm.last(CHAT_PATH)!;
    expect(req.method).toBe('POST');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.json).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Answer as JSON.' },
        { role: 'user', content: 'Classify this text' },
      ],
      max_tokens: 256,
      temperature: 0.2,
      response_format: { type: 'json_object' },
    });
  });

  it('sends explicit messages with only message fields', async () => {
    await runChat(
      {
        messages: [
          { role: 'system', content: 'Answer as JSON.', ts: 1 },
          { role: 'user', content: 'Classify this text', meta: { secret: 'x' } },
        ],
        max_tokens: 16,
        owner_ref: 'channel/7',
      },
      opts(),
    );
    expect(llm.last(CHAT_PATH)!.json).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Answer as JSON.' },
        { role: 'user', content: 'Classify this text' },
      ],
      max_tokens: 16,
    });
  });

  it('combines compact fields with explicit messages predictably', () => {
    const body = buildChatBody({ system: 'S', user: 'U2', messages: [{ role: 'user', content: 'U1' }] }, 'm');
    expect(body.messages).toEqual([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U1' },
      { role: 'user', content: 'U2' },
    ]);
    const withSystem = buildChatBody(
      {
        system: 'S2',
        messages: [
          { role: 'system', content: 'S1' },
          { role: 'user', content: 'U' },
        ],
      },
      'm',
    );
    expect(withSystem.messages[0]).toEqual({ role: 'system', content: 'S1' });
    expect(withSystem.messages).toHaveLength(2);
  });

  it.each([
    ['no messages and no user', { system: 'only system' }],
    ['empty messages', { messages: [] }],
    ['bad role', { messages: [{ role: 'robot', content: 'x' }] }],
    ['content not a string', { messages: [{ role: 'user', content: 42 }] }],
    ['bad part', { messages: [{ role: 'user', content: [{ text: 'no type' }] }] }],
    ['user not a string', { user: ['x'] }],
    ['max_tokens zero', { user: 'x', max_tokens: 0 }],
    ['max_tokens fraction', { user: 'x', max_tokens: 1.5 }],
    ['temperature out of range', { user: 'x', temperature: 3 }],
    ['bad response_format', { user: 'x', response_format: 5 }],
    ['not an object', 'hello'],
  ])('refuses %s as invalid_input before calling', async (_name, input) => {
    const e = await failure(runChat(input, opts()));
    expect(e.category).toBe('invalid_input');
    expect(llm.requestsTo(CHAT_PATH)).toHaveLength(0);
  });

  it('tolerates a base URL that already ends in /v1 or a slash', async () => {
    expect(chatCompletionsUrl('http://h:8000')).toBe('http://h:8000/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:8000/v1/')).toBe('http://h:8000/v1/chat/completions');
    await runChat({ user: 'hi' }, { ...opts(), baseUrl: `${llm.url}/v1` });
    expect(llm.requestsTo(CHAT_PATH)).toHaveLength(1);
  });

  it('sends no authorization header without a key', async () => {
    const open = await startFakeOpenAI();
    try {
      await runChat({ user: 'hi' }, { baseUrl: open.url, model: 'fake-model', timeoutMs: 2000 });
      expect(open.last(CHAT_PATH)!.headers.authorization).toBeUndefined();
    } finally {
      await open.close();
    }
  });
});

describe('runChat failures', () => {
  const cases: [string, Parameters<FakeOpenAI['queue']>[0], string][] = [
    ['429', { kind: 'rate_limited', retryAfter: 3 }, 'rate_limited'],
    ['500 with body', { kind: 'error', status: 500, message: 'engine dead' }, 'provider_error'],
    ['500 empty', { kind: 'empty' }, 'provider_error'],
    [
      '503',
      { kind: 'status', status: 503, body: '<html>503 Service Temporarily Unavailable</html>' },
      'provider_unavailable',
    ],
    ['502', { kind: 'status', status: 502 }, 'provider_unavailable'],
    ['400 context length (nested)', { kind: 'context_length' }, 'context_length_exceeded'],
    [
      '400 context length (top-level)',
      { kind: 'context_length', shape: 'top-level' },
      'context_length_exceeded',
    ],
    ['400 other', { kind: 'error', status: 400, message: 'bad', shape: 'top-level' }, 'invalid_input'],
    ['422', { kind: 'error', status: 422, message: 'bad' }, 'invalid_input'],
    ['403', { kind: 'error', status: 403, message: 'forbidden' }, 'auth_error'],
    ['quota', { kind: 'rate_limited', message: 'You exceeded your current quota' }, 'quota_exceeded'],
    ['garbage 200', { kind: 'garbage' }, 'invalid_output'],
    [
      '200 without content',
      { kind: 'status', status: 200, body: { choices: [{ message: { content: null } }] } },
      'invalid_output',
    ],
    [
      '200 without choices',
      { kind: 'status', status: 200, body: { object: 'chat.completion' } },
      'invalid_output',
    ],
    ['dropped connection', { kind: 'drop' }, 'provider_unavailable'],
    ['dropped mid-body', { kind: 'drop_mid_body' }, 'provider_unavailable'],
  ];
  it.each(cases)('%s → %s', async (_name, behaviour, category) => {
    llm.queue(behaviour);
    const e = await failure(runChat({ user: 'hi' }, opts()));
    expect(e.category).toBe(category);
    expect(e.provider).toBe('llm');
    expect(e.message.length).toBeLessThanOrEqual(500);
  });

  it('keeps Retry-After as retryAfterMs (seconds and HTTP date)', async () => {
    llm.queue({ kind: 'rate_limited', retryAfter: 2 });
    expect((await failure(runChat({ user: 'hi' }, opts()))).retryAfterMs).toBe(2000);
    const at = new Date(Date.now() + 60_000).toUTCString();
    llm.queue({ kind: 'rate_limited', retryAfter: at });
    const ms = (await failure(runChat({ user: 'hi' }, opts()))).retryAfterMs!;
    expect(ms).toBeGreaterThan(55_000);
    expect(ms).toBeLessThanOrEqual(60_000);
    llm.queue({ kind: 'rate_limited', retryAfterMs: 1500 });
    expect((await failure(runChat({ user: 'hi' }, opts()))).retryAfterMs).toBe(1500);
  });

  it('an unknown model is model_not_found, a wrong key auth_error', async () => {
    expect((await failure(runChat({ user: 'hi' }, { ...opts(), model: 'nope' }))).category).toBe(
      'model_not_found',
    );
    const e = await failure(runChat({ user: 'hi' }, { ...opts(), apiKey: 'wrong-key-xyz' }));
    expect(e.category).toBe('auth_error');
    expect(e.status).toBe(401);
  });

  it('a hung provider hits the deadline: timeout', async () => {
    llm.queue({ kind: 'hang' });
    const started = Date.now();
    const e = await failure(runChat({ user: 'hi' }, { ...opts(), timeoutMs: 150 }));
    expect(e.category).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('a slow answer within the deadline succeeds', async () => {
    llm.queue({ kind: 'answer', content: 'late', delayMs: 100 });
    expect((await runChat({ user: 'hi' }, { ...opts(), timeoutMs: 2000 })).content).toBe('late');
  });

  it("the caller's abort is cancelled, not timeout", async () => {
    llm.queue({ kind: 'hang' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('lease lost')), 50);
    const e = await failure(runChat({ user: 'hi' }, { ...opts(), timeoutMs: 5000, signal: ac.signal }));
    expect(e.category).toBe('cancelled');
    const pre = AbortSignal.abort();
    expect((await failure(runChat({ user: 'hi' }, { ...opts(), signal: pre }))).category).toBe('cancelled');
  });

  it('connection refused is provider_unavailable', async () => {
    const gone = await startFakeOpenAI();
    const url = gone.url;
    await gone.close();
    const e = await failure(runChat({ user: 'hi' }, { ...opts(), baseUrl: url }));
    expect(e.category).toBe('provider_unavailable');
    expect(e.message).toContain('connection refused');
  });

  it('never puts the key or URL credentials in messages', async () => {
    llm.queue({ kind: 'error', status: 401, message: `Incorrect API key provided: ${KEY}` });
    const e = await failure(runChat({ user: 'hi' }, opts()));
    expect(e.message).not.toContain(KEY);

    const gone = await startFakeOpenAI();
    const port = new URL(gone.url).port;
    await gone.close();
    const e2 = await failure(
      runChat({ user: 'hi' }, { ...opts(), baseUrl: `http://user:pa55word@127.0.0.1:${port}` }),
    );
    expect(e2.message).not.toContain('pa55word');
    expect(e2.message).not.toContain('user:');
    expect(JSON.stringify(e2.toFailure())).not.toContain('pa55word');
  });
});
