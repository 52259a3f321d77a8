// GET /ops/ab — Transcription A/B: per-provider figures and agreement matrix over a
// window; ?job=<id> shows that job's transcripts side by side with differences marked.
import * as z from 'zod/mini';
import { defineFunction } from '../../lib/http/define.ts';
import { getJob } from '../../lib/jobs/list.ts';
import { uuid } from '../../lib/jobs/schemas.ts';
import { AB_MAX_SAMPLE, AB_SAMPLE, abFigures, comparedJobs } from '../../lib/ops/ab.ts';
import { align } from '../../lib/ops/diff.ts';
import { consoleRoute } from '../../lib/ops/guard.ts';
import { render, windowParam } from '../../lib/ops/page.ts';
import { AbPage, type SideBySide } from '../../lib/ops/views/ab.tsx';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The primary transcript (result.provider, else the first completed attempt) against each other one. */
export function sideBySide(jobId: string, result: unknown): SideBySide | null {
  const r = obj(result);
  const attempts = (Array.isArray(r?.['attempts']) ? (r['attempts'] as unknown[]) : [])
    .map(obj)
    .filter((a): a is Obj => a !== null);
  const done = attempts.filter((a) => a['status'] === 'completed');
  const ref = done.find((a) => a['provider'] === r?.['provider']) ?? done[0];
  if (!ref) return null;
  const refProvider = str(ref['provider']);
  const refText = str(ref['text']);
  return {
    jobId,
    reference: { provider: refProvider, text: refText },
    others: done
      .filter((a) => a !== ref)
      .map((a) => {
        const stored = obj(a['agreement'])?.[refProvider];
        return {
          provider: str(a['provider']),
          text: str(a['text']),
          alignment: align(refText, str(a['text'])),
          stored: typeof stored === 'number' ? stored : null,
        };
      }),
    failed: attempts
      .filter((a) => a['status'] !== 'completed')
      .map((a) => {
        const e = obj(a['error']);
        return {
          provider: str(a['provider']),
          status: str(a['status']),
          error: e ? `${str(e['category'])} ${str(e['message'])}`.trim() : '',
        };
      }),
  };
}

export default defineFunction({
  name: 'ops-ab',
  method: 'GET',
  path: '/ops/ab',
  auth: false,
  access: 'console',
  summary: 'Ops console: transcription A/B',
  responses: {
    200: { description: 'HTML', content: 'text/html' },
    303: { description: 'to the login page', content: 'text/html' },
  },
  handler: consoleRoute(async (c, s) => {
    const { db, clock } = c.var.deps;
    const w = windowParam(c, '24h');
    const since = new Date(clock.now() - w.ms);
    const n = Number(c.req.query('sample'));
    const sample = Number.isInteger(n) && n >= 1 && n <= AB_MAX_SAMPLE ? n : AB_SAMPLE;
    const [figures, picker] = await Promise.all([
      abFigures(db, since, { limit: sample }),
      comparedJobs(db, since),
    ]);
    const jobParam = z.safeParse(uuid, c.req.query('job'));
    let sbs: SideBySide | null = null;
    if (jobParam.success) {
      const job = await getJob(db, jobParam.data.toLowerCase());
      if (job) sbs = sideBySide(job.id, job.result);
    }
    return render(c, s, {
      title: 'Transcription A/B',
      active: '/ops/ab',
      body: AbPage({ window: w.label, sample, figures, picker, sbs }),
    });
  }),
});
