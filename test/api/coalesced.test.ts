// Concurrent requests that the API coalesces into shared statements (POST /api/v1/jobs,
// GET /api/v1/jobs/{id}) still answer each request on its own: 201/200/409 and 200/404,
// bodies in the usual shapes, errors in the envelope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';

const job = (i: number, over: Record<string, unknown> = {}) => ({
  owner_service: 'telephony',
  owner_ref: `beeline/${i}`,
  task_type: 'llm_chat',
  model_profile: 'qwen2.5-14b',
  input: { user: `hi ${i}` },
  ...over,
});

describe('coalesced requests', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('concurrent POSTs: each its own 201, a repeated key 200 with the same id, another job under it 409', async () => {
    const plain = Array.from({ length: 30 }, (_, i) => api.json('POST', '/api/v1/jobs', job(i)));
    const same = Array.from({ length: 5 }, () =>
      api.json('POST', '/api/v1/jobs', job(100, { idempotency_key: 'call:100' })),
    );
    const other = api.json('POST', '/api/v1/jobs', job(101, { idempotency_key: 'call:100' }));
    const [p, s, o] = await Promise.all([Promise.all(plain), Promise.all(same), other]);
    expect(p.map((r) => r.status)).toEqual(Array(30).fill(201));
    expect(p.map((r) => r.body.owner_ref)).toEqual(Array.from({ length: 30 }, (_, i) => `beeline/${i}`));
    expect(p.every((r) => r.body.lease_token === undefined && r.body.status === 'pending')).toBe(true);
    const all = [...s, o];
    const winner = all.find((r) => r.status === 201)!;
    expect(all.filter((r) => r.status === 201)).toHaveLength(1);
    const winnerIsSame = winner !== o;
    if (winnerIsSame) {
      expect(s.filter((r) => r.status === 200).map((r) => r.body.id)).toEqual(Array(4).fill(winner.body.id));
      expect(o.status).toBe(409);
      expect(o.body).toEqual({
        error: {
          code: 'idempotency_conflict',
          message: expect.any(String),
          details: { existing_id: winner.body.id },
        },
      });
    } else {
      for (const r of s) {
        expect(r.status).toBe(409);
        expect(r.body.error.details).toEqual({ existing_id: winner.body.id });
      }
    }
  });

  it('concurrent GETs: each its own job, unknown ids 404 in the envelope', async () => {
    const made = await Promise.all(
      Array.from({ length: 10 }, (_, i) => api.json('POST', '/api/v1/jobs', job(200 + i))),
    );
    const unknown = '01890a5d-ac96-774b-bcce-b302099a8057';
    const asks = [...made.map((m) => m.body.id as string), unknown, ...made.map((m) => m.body.id as string)];
    const got = await Promise.all(asks.map((id) => api.json('GET', `/api/v1/jobs/${id}`)));
    got.forEach((r, i) => {
      if (asks[i] === unknown) {
        expect(r.status).toBe(404);
        expect(r.body.error.code).toBe('not_found');
      } else {
        expect(r.status).toBe(200);
        // The create answer may add a `warning` (no live worker serves the job); the job is the same.
        const { warning: _, ...created } = made[i > 10 ? i - 11 : i]!.body;
        expect(r.body).toEqual(created);
      }
    });
  });
});
