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
