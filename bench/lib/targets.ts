// Every target `npm run bench` checks, by key: where it comes from, the scenario that
// measures it and what it asks. Rows carry the key of the target they check; the run
// ends with one line per target — MET or MISSED from its rows, or NOT MEASURED and why
// (scenario not run, failed, or measured only with --full) — so a target never drops
// out of the report silently. Targets of earlier rounds that round two replaced are no
// longer here: their ratios are still printed, as information.
import type { ScenarioName } from './args.ts';

export interface TargetDef {
  /** Where the target is written down. */
  source: string;
  scenario: ScenarioName;
  text: string;
  /** Measured only by `--only scale --full` (say so instead of "not measured"). */
  fullOnly?: boolean;
}

export const TARGETS = {
  'external-vs-pgboss': {
    source: 'issue 14',
    scenario: 'burndown',
    text: "external worker loop over HTTP (README's batched loop, http-batch) ≥ 1× pg-boss's in-process burn-down",
  },
  'runner-vs-graphile': {
    source: 'issue 14',
    scenario: 'burndown',
    text: 'built-in worker burn-down ≥ 1.2× graphile-worker',
  },
  'runner-vs-raw': {
    source: 'issue 14',
    scenario: 'burndown',
    text: 'built-in worker burn-down ≥ 85 % of the raw SKIP LOCKED loop on the same table',
  },
  'get-vs-minimal': {
    source: 'issue 14',
    scenario: 'http',
    text: 'GET /api/v1/jobs/{id} ≥ 90 % of a minimal Hono + pg server’s req/s',
  },
  'post-vs-minimal': {
    source: 'issue 14',
    scenario: 'http',
    text: 'POST /api/v1/jobs ≥ 1× a minimal Hono + pg single-row insert',
  },
  'p99-vs-minimal': {
    source: 'issue 14',
    scenario: 'http',
    text: 'GET and POST p99 at 50 connections ≤ 1.2× the minimal server’s',
  },
  'enqueue-vs-graphile': {
    source: 'issue 14',
    scenario: 'enqueue',
    text: "enqueue (POST /api/v1/jobs/batch and createJobs) ≥ 1× graphile-worker's addJobs",
  },
  'enqueue-vs-pgboss': {
    source: 'issue 14',
    scenario: 'enqueue',
    text: 'enqueue (POST /api/v1/jobs/batch and createJobs) ≥ 1.5× pg-boss',
  },
  'scale-1m': {
    source: 'issue 14',
    scenario: 'scale',
    text: 'stats and lists p50 < 20 ms at 1M rows with 100,000 jobs finished in the window',
  },
  'scale-10m': {
    source: 'issue 14',
    scenario: 'scale',
    text: 'stats and lists p50 < 50 ms at 10M rows',
    fullOnly: true,
  },
  'console-1m': {
    source: 'console round',
    scenario: 'scale',
    text: 'console and GET /api/v1/usage queries p50 < 50 ms at 1M rows',
  },
  'edge-cold': {
    source: 'issue 14',
    scenario: 'coldstart',
    text: 'edge bundles that do not query: import + first response < 50 ms',
  },
  'edge-warm': {
    source: 'issue 14',
    scenario: 'coldstart',
    text: 'edge bundles that query: a second request in the same process < 10 ms',
  },
  // The same target measured less noisily: one sample per process above, the median of
  // five here. Reported side by side; neither replaces the other.
  'edge-warm-median': {
    source: 'issue 14',
    scenario: 'coldstart',
    text: 'edge bundles that query: warm requests (median of the 2nd..6th in the same process) < 10 ms',
  },
  'limits-vs-off': {
    source: 'issue 11',
    scenario: 'queues',
    text: 'burn-down with limits + fairness on within 10 % of the same run without them',
  },
  'create-to-claim': {
    source: 'issue 6',
    scenario: 'latency',
    text: 'create → claim p50 < 10 ms with an idle worker',
  },
} as const satisfies Record<string, TargetDef>;

export type TargetKey = keyof typeof TARGETS;

/** A row's check against target `key`; `text` is the bound as printed in the row. */
export const check = (key: TargetKey, text: string, ok: boolean) => ({ key, text, ok });
