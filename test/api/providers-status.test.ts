// providers/status over HTTP against loopback providers that speak the real protocols:
// reachable ones report models and latency; a silent one is reported within the probe
// timeout; keys and URL credentials never appear in the answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { type FakeWhisperX, startFakeWhisperX } from '../support/fake-whisperx.ts';

let api: TestApi;
let llm: FakeOpenAI;
let qwen: FakeOpenAI;
let whisper: FakeWhisperX;

beforeAll(async () => {
  llm = await startFakeOpenAI({ models: ['qwen2.5-14b'], apiKey: 'llm-secret-key' });
  qwen = await startFakeOpenAI({ models: ['Qwen/Qwen2-Audio-7B-Instruct'] });
  qwen.setBehaviour({ kind: 'hang' }, '/v1/models');
  whisper = await startFakeWhisperX();
  const withCreds = (u: string) => u.replace('http://', 'http://user:url-password@');
  api = await startTestApi({
    LLM_BASE_URL: llm.url,
    LLM_API_KEY: 'llm-secret-key',
    WHISPERX_URL: withCreds(whisper.url),
    QWEN_AUDIO_BASE_URL: qwen.url,
    QWEN_AUDIO_API_KEY: 'qwen-secret-key',
    PROVIDER_PROBE_TIMEOUT: '400ms',
  });
});
afterAll(async () => {
  await api?.close();
  await Promise.all([llm?.close(), qwen?.close(), whisper?.close()]);
});

describe('GET /api/v1/providers/status', () => {
  it('reports each provider without secrets', async () => {
    const t0 = Date.now();
    const r = await api.json('GET', '/api/v1/providers/status');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.status).toBe(200);
    const by = Object.fromEntries(r.body.providers.map((p: { name: string }) => [p.name, p]));
    expect(by.llm).toMatchObject({ configured: true, reachable: true, models: ['qwen2.5-14b'] });
    expect(by.llm.latency_ms).toBeGreaterThanOrEqual(0);
    expect(by.whisperx).toMatchObject({ configured: true, reachable: true });
    expect(by['qwen2-audio']).toMatchObject({ configured: true, reachable: false });
    expect(by['voxtral-small']).toMatchObject({ configured: false });
    const text = JSON.stringify(r.body);
    for (const secret of ['llm-secret-key', 'qwen-secret-key', 'url-password', 'user:'])
      expect(text).not.toContain(secret);
    // The probe really authenticated with the key (the fake refuses /v1/* without it).
    expect(llm.requests.some((q) => q.headers.authorization === 'Bearer llm-secret-key')).toBe(true);
  });
});
