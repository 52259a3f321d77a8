// jsonTooDeep walks every request body and input without building paths, and works the
// path out only for a value that is too deep: its answers must be the ones the plain
// walk (kept here as the reference) gives — same verdict, same path.
import { describe, expect, it } from 'vitest';
import { jsonTooDeep } from '../../lib/jobs/schemas.ts';

function reference(value: unknown, max: number, keep = 3): string[] | undefined {
  const stack: [unknown, number, string[]][] = [[value, 1, []]];
  while (stack.length > 0) {
    const [v, depth, path] = stack.pop()!;
    if (depth > max) return path;
    const entries = Array.isArray(v) ? v.entries() : Object.entries(v as object);
    for (const [k, child] of entries) {
      if (child !== null && typeof child === 'object') {
        stack.push([child, depth + 1, path.length < keep ? [...path, String(k)] : path]);
      }
    }
  }
  return undefined;
}

let seed = 7;
const rand = (n: number) => {
  seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
  return (seed >>> 16) % n;
};
function tree(depth: number): unknown {
  if (depth === 0 || rand(8) === 0) return [1, 'x', null, true][rand(4)];
  const n = 1 + rand(2);
  if (rand(2)) return Array.from({ length: n }, () => tree(depth - 1));
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, tree(depth - 1)]));
}

describe('jsonTooDeep', () => {
  it('gives the reference walk’s verdict and path on random trees around the limit', () => {
    let deep = 0;
    for (let i = 0; i < 3000; i++) {
      const v = { root: tree(rand(10)) };
      for (const [max, keep] of [
        [4, 3],
        [6, 0],
        [8, 2],
      ] as const) {
        const got = jsonTooDeep(v, max, keep);
        expect(got).toEqual(reference(v, max, keep));
        if (got) deep++;
      }
    }
    expect(deep).toBeGreaterThan(100);
    let chain: unknown = {};
    for (let i = 0; i < 70; i++) chain = i % 2 ? { a: chain } : [chain];
    expect(jsonTooDeep(chain, 64)).toEqual(reference(chain, 64));
    expect(jsonTooDeep(chain, 71)).toBeUndefined();
  });
});
