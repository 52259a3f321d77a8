// Durations as operators write them in env vars: "500ms", "2s", "5m", "1h" (or a bare
// number of milliseconds). One parser, shared by config and request bodies.
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

/** Parses a duration to milliseconds; returns undefined when the text is not one. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.round(text) : undefined;
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'ms') as keyof typeof UNIT_MS;
  const ms = Math.round(Number(m[1]) * UNIT_MS[unit]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

export const DURATION_HINT = 'a duration such as 500ms, 2s, 5m or 1h';
