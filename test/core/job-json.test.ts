// toJobJson remembers formatted instants (most timestamps of one answer repeat); the
// answer must be exactly what formatting each Date would give, whatever was cached.
import { describe, expect, it } from 'vitest';
import { type JobRow, toJobJson } from '../../lib/jobs/row.ts';

const row = (d: (k: number) => Date, i: number): JobRow =>
  ({
    id: `id-${i}`,
    run_after: d(1),
    lease_expires_at: null,
    created_at: d(2),
    updated_at: d(3),
    started_at: d(4),
    finished_at: i % 2 ? null : d(5),
  }) as unknown as JobRow;

describe('toJobJson timestamps', () => {
  it('formats every instant exactly, across more distinct instants than it remembers', () => {
    const base = Date.UTC(2026, 10, 29, 12, 0, 0, 0);
    for (let i = 0; i < 3000; i++) {
      const at = (k: number) => new Date(base + ((i * 7 + k * 13) % 2000) * 1_001);
      const r = row(at, i);
      const j = toJobJson(r);
      expect(j.run_after).toBe(at(1).toISOString());
      expect(j.created_at).toBe(at(2).toISOString());
      expect(j.updated_at).toBe(at(3).toISOString());
      expect(j.started_at).toBe(at(4).toISOString());
      expect(j.finished_at).toBe(i % 2 ? null : at(5).toISOString());
    }
  });

  it('still refuses an invalid Date (never cached)', () => {
    const bad = () => new Date(Number.NaN);
    expect(() => toJobJson(row(bad, 0))).toThrow(RangeError);
    expect(() => toJobJson(row(bad, 0))).toThrow(RangeError);
  });
});

describe('toJobJson fields', () => {
  // The answer as it was built before the one-pass copy: the contract, byte for byte.
  const before = (row: JobRow, withLease: boolean) => {
    const d = (x: Date | null) => (x === null ? null : x.toISOString());
    const { lease_token, ...rest } = row;
    const out: Record<string, unknown> = {
      ...rest,
      run_after: d(row.run_after),
      lease_expires_at: d(row.lease_expires_at),
      created_at: d(row.created_at),
      updated_at: d(row.updated_at),
      started_at: d(row.started_at),
      finished_at: d(row.finished_at),
    };
    if (withLease && lease_token) out.lease_token = lease_token;
    return JSON.stringify(out);
  };
  const at = new Date(Date.UTC(2026, 10, 29, 21, 40, 28, 123));
  const full: JobRow = {
    id: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f01',
    owner_service: 'telephony',
    owner_ref: 'r/1',
    task_type: 'llm_chat',
    model_profile: 'm',
    input: { user: 'hi', nested: { lease_token: 'not the column' } },
    result: null,
    status: 'running',
    priority: 3,
    run_after: at,
    attempts: 1,
    max_attempts: 3,
    worker_id: 'w',
    lease_token: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80',
    lease_expires_at: new Date(at.getTime() + 900_000),
    error_category: null,
    error_message: null,
    idempotency_key: null,
    created_at: new Date(at.getTime() - 5),
    updated_at: at,
    started_at: at,
    finished_at: null,
    duration_ms: null,
    lease_ms: 900_000,
    token_cost: null,
    tokens_used: null,
    webhook_url: null,
    webhook_events: null,
  };

  it('keeps the row’s field order, drops the lease token unless asked, then puts it last', () => {
    for (const row of [
      full,
      { ...full, lease_token: null },
      { ...full, finished_at: at, status: 'completed' },
    ]) {
      for (const withLease of [false, true]) {
        expect(JSON.stringify(toJobJson(row as JobRow, { withLease }))).toBe(
          before(row as JobRow, withLease),
        );
      }
    }
    expect(Object.keys(toJobJson(full, { withLease: true })).at(-1)).toBe('lease_token');
    expect(toJobJson(full)).not.toHaveProperty('lease_token');
  });
});
