// uuidv7 draws random bytes from a pool and hex from a table (lib/jobs/ids.ts): the ids
// must still be RFC 9562 v7 with the millisecond in the first 48 bits (lib/jobs/filter.ts
// reads creation time from it), unique, and increasing within the process.
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../lib/jobs/ids.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('puts the given millisecond in the first 48 bits, version 7, variant 10', () => {
    // Slightly ahead of the clock, increasing: the module's monotonic state moves forward
    // only as far as ids made later in this worker would take it anyway.
    const base = Date.now() + 5;
    for (let k = 0; k < 20; k++) {
      const id = uuidv7(base + k);
      expect(id).toMatch(V7);
      expect(msOf(id)).toBe(base + k);
    }
  });

  it('is unique and increasing across many ids in one millisecond and across pool refills', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    for (const id of ids) expect(id).toMatch(V7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // The random tail is not constant (the pool is refilled, not reused).
    expect(new Set(ids.map((id) => id.slice(-12))).size).toBe(ids.length);
  });
});
