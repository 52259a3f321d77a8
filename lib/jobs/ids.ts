// UUID v7 (RFC 9562) generated in the process so a batch knows its ids before the
// INSERT and can map RETURNING rows back to items. Monotonic within a process: the
// 12-bit rand_a field counts up inside one millisecond. Web Crypto only (edge-safe).
// A batch of 1,000 jobs takes 1,000 ids: random bytes are drawn from Web Crypto a few
// kilobytes at a time and hex comes from a table, since one getRandomValues call and
// one Array.from/join per id cost ~15 µs each (15 ms of a 1,000-job batch).
let lastMs = 0;
let seq = 0;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const POOL = new Uint8Array(4096);
let used = POOL.length;

/** Offset of `n` fresh random bytes in POOL (ids are not secrets; lease tokens use randomUUID). */
function take(n: number): number {
  if (used + n > POOL.length) {
    crypto.getRandomValues(POOL);
    used = 0;
  }
  const at = used;
  used += n;
  return at;
}

export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs += 1; // 4096 ids in one ms: borrow the next millisecond
    now = lastMs;
  } else {
    lastMs = now;
    const r = take(2);
    seq = ((POOL[r]! << 8) | POOL[r + 1]!) & 0x3ff; // leave room to count up
  }
  const r = take(8);
  const p = POOL;
  const hi = Math.floor(now / 2 ** 16); // 48-bit millisecond time: 32 high bits, 16 low
  return (
    HEX[(hi >>> 24) & 0xff]! +
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    '-' +
    HEX[(now >>> 8) & 0xff]! +
    HEX[now & 0xff]! +
    '-' +
    HEX[0x70 | (seq >>> 8)]! +
    HEX[seq & 0xff]! +
    '-' +
    HEX[0x80 | (p[r]! & 0x3f)]! +
    HEX[p[r + 1]!]! +
    '-' +
    HEX[p[r + 2]!]! +
    HEX[p[r + 3]!]! +
    HEX[p[r + 4]!]! +
    HEX[p[r + 5]!]! +
    HEX[p[r + 6]!]! +
    HEX[p[r + 7]!]!
  );
}
