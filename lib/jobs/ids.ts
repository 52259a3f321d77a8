// UUID v7 (RFC 9562) generated in the process so a batch knows its ids before the
// INSERT and can map RETURNING rows back to items. Monotonic within a process: the
// 12-bit rand_a field counts up inside one millisecond. Web Crypto only (edge-safe).
let lastMs = 0;
let seq = 0;

export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs += 1; // 4096 ids in one ms: borrow the next millisecond
    now = lastMs;
  } else {
    lastMs = now;
    seq = crypto.getRandomValues(new Uint16Array(1))[0]! & 0x3ff; // leave room to count up
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = Math.floor(now / 2 ** 40) & 0xff;
  b[1] = Math.floor(now / 2 ** 32) & 0xff;
  b[2] = (now >>> 24) & 0xff;
  b[3] = (now >>> 16) & 0xff;
  b[4] = (now >>> 8) & 0xff;
  b[5] = now & 0xff;
  b[6] = 0x70 | (seq >>> 8);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
