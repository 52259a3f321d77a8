// Durations as operators and callers write them: "500ms", "30s", "5m", "1h", "7d", or a
// bare number, which is SECONDS — everywhere: env vars, query strings (?wait=30) and
// JSON bodies (lease_timeout: 1800, retry_after: 30), like HTTP's Retry-After. One parser,
// shared by config and request schemas, so no field reads a bare number differently.
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

/** Parses a duration to milliseconds; returns undefined when the value is not one. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') {
    const ms = Math.round(value * 1000);
    return Number.isFinite(value) && value >= 0 && Number.isSafeInteger(ms) ? ms : undefined;
  }
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 's') as keyof typeof UNIT_MS;
  const ms = Math.round(Number(m[1]) * UNIT_MS[unit]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** A duration in the largest unit that states it exactly: 5000 → "5s", 90000 → "90s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

export const DURATION_HINT = 'a duration such as 500ms, 30s, 5m or 1h (a bare number is seconds)';

/** Shortest lease a worker may hold: a shorter one expires between heartbeats on an ordinary hiccup. */
export const MIN_LEASE_MS = 5_000;
