// infra/status against a loopback sidecar: normalised shape from both the documented
// and the raw forms, and the failure answers (non-2xx, not JSON, silent).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';

let mode: 'doc' | 'raw' | '500' | 'garbage' | 'hang' = 'doc';
const seenAuth: (string | undefined)[] = [];
const sidecar = http.createServer((req, res) => {
  seenAuth.push(req.headers.authorization);
  if (mode === 'hang') return;
  if (mode === '500') return res.writeHead(500).end('boom');
  if (mode === 'garbage') return res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
  const body =
    mode === 'doc'
      ? {
          collected_at: '2026-11-25T12:00:00Z',
          gpus: [{ index: 0, name: 'A100', utilization_pct: 87, memory_used_mb: 100, memory_total_mb: 200 }],
          containers: [{ name: 'vllm', status: 'running', health: 'healthy', restart_count: 0 }],
          vllm: [
            {
              name: 'vllm',
              model: 'qwen2.5-14b',
              requests_running: 3,
              requests_waiting: 1,
              kv_cache_usage: 0.4,
            },
          ],
          whisperx: [{ name: 'whisperx-1', reachable: true, latency_ms: 12 }],
        }
      : {
          gpus: [
            {
              index: '0',
              name: 'A100',
              'utilization.gpu': '55',
              'memory.used': '1000',
              'memory.total': '81920',
              'temperature.gpu': '60',
              'power.draw': '200.5',
            },
          ],
          containers: [
            {
              Name: '/whisperx',
              Config: { Image: 'whisperx:1' },
              State: { Status: 'running', Health: { Status: 'healthy' }, StartedAt: '2026-11-20T08:00:00Z' },
              RestartCount: 2,
            },
          ],
          vllm: {
            'vllm-main': {
              model_name: 'qwen2.5-14b',
              'vllm:num_requests_running': 2,
              'vllm:gpu_cache_usage_perc': 0.3,
            },
          },
        };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});

let api: TestApi;
beforeAll(async () => {
  await new Promise<void>((r) => sidecar.listen(0, '127.0.0.1', () => r()));
  const { port } = sidecar.address() as AddressInfo;
  api = await startTestApi({
    INFRA_STATUS_URL: `http://127.0.0.1:${port}/status`,
    INFRA_STATUS_TOKEN: 'side-secret',
    // The hang case waits this out; shorter, the first (cold) request missed it on a
    // loaded machine (two test files at once on 2 CPUs).
    PROVIDER_PROBE_TIMEOUT: '1s',
  });
});
afterAll(async () => {
  await api?.close();
  sidecar.closeAllConnections();
  await new Promise((r) => sidecar.close(r));
});

describe('GET /api/v1/infra/status', () => {
  it('relays the documented shape, with the sidecar token sent and not echoed', async () => {
    mode = 'doc';
    const r = await api.json('GET', '/api/v1/infra/status');
    expect(r.body).toMatchObject({
      configured: true,
      reachable: true,
      collected_at: '2026-11-25T12:00:00Z',
      gpus: [
        {
          index: 0,
          name: 'A100',
          utilization_pct: 87,
          memory_used_mb: 100,
          memory_total_mb: 200,
          power_w: null,
        },
      ],
      containers: [{ name: 'vllm', status: 'running', health: 'healthy', restart_count: 0 }],
      vllm: [
        { name: 'vllm', model: 'qwen2.5-14b', requests_running: 3, requests_waiting: 1, kv_cache_usage: 0.4 },
      ],
      whisperx: [{ name: 'whisperx-1', reachable: true, latency_ms: 12 }],
    });
    expect(seenAuth.at(-1)).toBe('Bearer side-secret');
    expect(JSON.stringify(r.body)).not.toContain('side-secret');
  });

  it('normalises raw nvidia-smi, docker inspect and vLLM metric names', async () => {
    mode = 'raw';
    const r = await api.json('GET', '/api/v1/infra/status');
    expect(r.body.gpus[0]).toMatchObject({
      index: 0,
      utilization_pct: 55,
      memory_used_mb: 1000,
      memory_total_mb: 81920,
      temperature_c: 60,
      power_w: 200.5,
    });
    expect(r.body.containers[0]).toEqual({
      name: 'whisperx',
      image: 'whisperx:1',
      status: 'running',
      health: 'healthy',
      started_at: '2026-11-20T08:00:00Z',
      restart_count: 2,
    });
    expect(r.body.vllm[0]).toMatchObject({
      name: 'vllm-main',
      model: 'qwen2.5-14b',
      requests_running: 2,
      kv_cache_usage: 0.3,
    });
  });

  it('reports an unhealthy sidecar instead of failing', async () => {
    for (const [m, error] of [
      ['500', 'sidecar answered 500'],
      ['garbage', 'sidecar answered invalid JSON'],
      ['hang', 'no answer within 1000 ms'],
    ] as const) {
      mode = m;
      const r = await api.json('GET', '/api/v1/infra/status');
      expect(r.status, m).toBe(200);
      expect(r.body, m).toMatchObject({ configured: true, reachable: false, error });
    }
  });
});
