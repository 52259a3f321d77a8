// Helpers the console's functions share: the page frame around a body, and the ?window=
// parameter (1h … 7d, like GET /api/v1/stats).
import type { Child } from 'hono/jsx';
import { parseDuration } from '../config/duration.ts';
import type { Ctx } from '../http/define.ts';
import type { ConsoleCtx } from './guard.ts';
import { Layout } from './views/layout.tsx';

export function render(
  c: Ctx,
  s: ConsoleCtx,
  page: { title: string; active: string; body: Child; status?: number },
): Response | Promise<Response> {
  return c.html(
    Layout({
      title: page.title,
      active: page.active,
      open: s.open,
      csrf: s.session.csrf,
      children: page.body,
    }),
    (page.status ?? 200) as 200,
  );
}

export const MAX_WINDOW_MS = 7 * 86_400_000;

/** ?window=… as a label and milliseconds; anything unparseable or out of range → fallback. */
export function windowParam(c: Ctx, fallback: string): { label: string; ms: number } {
  const raw = c.req.query('window') ?? fallback;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 60_000 || ms > MAX_WINDOW_MS)
    return { label: fallback, ms: parseDuration(fallback)! };
  return { label: raw, ms };
}
