// Provider status probes: what is reported, and that no secret ever is.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { probeProviders } from '../../lib/providers/probe.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { type FakeWhisperX, startFakeWhisperX } from '../support/fake-whisperx.ts';

let llm: FakeOpenAI;
let wx: FakeWhisperX;

beforeAll(async () => {
  [llm, wx] = await Promise.all([
    startFakeOpenAI({ models: ['qwen2.5-14b'], maxModelLen: 16384, apiKey: 'llm-secret-key' }),
    startFakeWhisperX(),
  ]);
});
beforeEach(() => {
  llm.reset();
  wx.reset();
});
afterAll(async () => {
  await Promise.all([llm.close(), wx.close()]);
});

describe('probeProviders', () => {
  it('reports models, window and latency for configured providers, and nothing for the rest', async () => {
    const config = loadConfig({ LLM_BASE_URL: llm.url, LLM_API_KEY: 'llm-secret-key', WHISPERX_URL: wx.url });
    const out = await probeProviders(config);
    expect(out.map((p) => p.name)).toEqual(['llm', 'whisperx', 'qwen2-audio', 'voxtral-small']);
    const [l, w, q, v] = out;
    expect(l).toMatchObject({
      configured: true,
      reachable: true,
      models: ['qwen2.5-14b'],
      max_model_len: 16384,
      model: 'qwen2.5-14b',
      url: llm.url,
    });
    expect(l!.error).toBeUndefined();
    expect(l!.latency_ms).toBeGreaterThanOrEqual(0);
    expect(llm.last('/v1/models')!.headers.authorization).toBe('Bearer llm-secret-key');
    expect(w).toMatchObject({ configured: true, reachable: true, url: wx.url });
    expect(wx.requestsTo('/openapi.json')).toHaveLength(1);
    expect(q).toEqual({
      name: 'qwen2-audio',
      configured: false,
      reachable: null,
      latency_ms: null,
      model: 'Qwen/Qwen2-Audio-7B-Instruct',
    });
    expect(v).toMatchObject({ configured: false, reachable: null });
  });

  it('says when the configured model is not served, or the key is wrong', async () => {
    const wrongModel = await probeProviders(
      loadConfig({ LLM_BASE_URL: llm.url, LLM_API_KEY: 'llm-secret-key', LLM_MODEL: 'other' }),
    );
    expect(wrongModel[0]!.error).toBe('configured model other is not served');
    const wrongKey = await probeProviders(loadConfig({ LLM_BASE_URL: llm.url, LLM_API_KEY: 'nope-nope' }));
    expect(wrongKey[0]).toMatchObject({ reachable: true, error: 'HTTP 401: check the API key' });
  });

  it('reports unreachable and slow providers with short errors, in parallel under the timeout', async () => {
    const gone = await startFakeOpenAI();
    const goneUrl = gone.url;
    await gone.close();
    llm.setBehaviour({ kind: 'hang' }, '/v1/models');
    const started = Date.now();
    const out = await probeProviders(
      loadConfig({
        LLM_BASE_URL: llm.url,
        LLM_API_KEY: 'llm-secret-key',
        QWEN_AUDIO_BASE_URL: goneUrl,
        VOXTRAL_BASE_URL: llm.url,
        PROVIDER_PROBE_TIMEOUT: '200ms',
      }),
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(out[0]).toMatchObject({ reachable: false, latency_ms: null, error: 'no answer within 200 ms' });
    expect(out[2]).toMatchObject({ configured: true, reachable: false });
    expect(out[2]!.error).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('falls back to /docs for WhisperX servers without /openapi.json', async () => {
    wx.setBehaviour({ kind: 'status', status: 404, body: { detail: 'Not Found' } }, '/openapi.json');
    const out = await probeProviders(loadConfig({ WHISPERX_URL: wx.url }));
    expect(out[1]).toMatchObject({ reachable: true });
    expect(out[1]!.error).toBeUndefined();
    expect(wx.requestsTo('/docs')).toHaveLength(1);
  });

  it('never returns keys or URL credentials', async () => {
    const withCreds = llm.url.replace('http://', 'http://admin:url-password@');
    const out = await probeProviders(
      loadConfig({
        LLM_BASE_URL: withCreds,
        LLM_API_KEY: 'llm-secret-key',
        VOXTRAL_BASE_URL: withCreds,
        VOXTRAL_API_KEY: 'vox-secret',
      }),
    );
    const text = JSON.stringify(out);
    for (const s of ['llm-secret-key', 'vox-secret', 'url-password', 'admin']) expect(text).not.toContain(s);
    expect(out[0]!.url).toBe(llm.url);
    expect(out[0]!.reachable).toBe(true);
  });

  it('works with any fetch implementation (edge platforms)', async () => {
    const calls: string[] = [];
    const fakeFetch = async (url: string) => {
      calls.push(url);
      return new Response(JSON.stringify({ object: 'list', data: [{ id: 'qwen2.5-14b' }] }), { status: 200 });
    };
    const out = await probeProviders(loadConfig({ LLM_BASE_URL: 'http://llm.internal:8000/v1' }), fakeFetch);
    expect(calls).toEqual(['http://llm.internal:8000/v1/models']);
    expect(out[0]).toMatchObject({ reachable: true, models: ['qwen2.5-14b'] });
  });

  it('WhisperX: reports the detected server style, a configured one that disagrees, and each of several instances', async () => {
    const fast = await startFakeWhisperX({ style: 'fastapi' });
    const gone = await startFakeWhisperX();
    const goneUrl = gone.url;
    await gone.close();
    try {
      const [, auto] = await probeProviders(loadConfig({ WHISPERX_URL: fast.url }));
      expect(auto).toMatchObject({ reachable: true, api: 'fastapi' });
      expect(auto!.error).toBeUndefined();
      const [, wrong] = await probeProviders(loadConfig({ WHISPERX_URL: fast.url, WHISPERX_API: 'asr' }));
      expect(wrong!.error).toBe('WHISPERX_API=asr but the server speaks fastapi');
      const [, two] = await probeProviders(loadConfig({ WHISPERX_URL: `${goneUrl},${fast.url}` }));
      expect(two).toMatchObject({ reachable: true, url: fast.url, error: '1 of 2 instances unreachable' });
      expect(two!.instances).toEqual([
        { url: goneUrl, reachable: false, error: expect.stringMatching(/ECONNREFUSED|fetch failed/) },
        { url: fast.url, reachable: true, api: 'fastapi' },
      ]);
    } finally {
      await fast.close();
    }
  });
});
