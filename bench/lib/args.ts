// Command line of `npm run bench`: --full, --only a,b, --runs N, --quiet.
export const SCENARIOS = [
  'enqueue',
  'burndown',
  'queues',
  'burst',
  'tokens',
  'latency',
  'http',
  'scale',
  'coldstart',
  'explain',
  'schema',
  'profile',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/**
 * Only when asked for by name: `explain` (a 1M-row load, writes docs/explain-1m.txt) and
 * `schema` (what each index and trigger of the table costs) and `profile` (V8 CPU profiles of
 * the API under GET load and of the worker's burn-down): profiles, not targets.
 */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIOS.filter(
  (s) => s !== 'explain' && s !== 'schema' && s !== 'profile',
);

export interface BenchArgs {
  full: boolean;
  only: ScenarioName[];
  /** Runs per figure; undefined = the scenario's default for the mode. */
  runs: number | undefined;
  /** Per-scenario size overrides, e.g. --n 20000 (burn-down / enqueue job count). */
  n: number[] | undefined;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = { full: false, only: [...DEFAULT_SCENARIOS], runs: undefined, n: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--full') out.full = true;
    else if (a.startsWith('--only')) {
      const names = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
      if (bad.length)
        throw new Error(`unknown scenario(s) ${bad.join(', ')}; known: ${SCENARIOS.join(', ')}`);
      out.only = names as ScenarioName[];
    } else if (a.startsWith('--runs')) {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error('--runs expects a positive integer');
      out.runs = n;
    } else if (a.startsWith('--n')) {
      out.n = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (out.n.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--n expects positive integers');
    } else if (a === '--help' || a === '-h') {
      console.log(
        `npm run bench [-- --full] [--only ${SCENARIOS.join(',')}] [--runs N] [--n 20000,100000]\n` +
          'Short sizes by default: burn-down 5k, enqueue/queues/burst 10k, scale 1M (20 calls per p50).\n' +
          '--full runs the issue sizes: burn-down 20k and 100k, enqueue 100k, queues/burst 20k, scale 100k and 1M;\n' +
          '`--only scale --full` adds 10M rows to the scale (alone: it takes ~20 min).\n' +
          "--n overrides a scenario's size(s) (scale: the row counts; tokens: the job count).\n" +
          "'explain' (EXPLAIN ANALYZE at 1M → docs/explain-1m.txt) 'schema' (cost of each index/trigger) and 'profile' (CPU profiles) run only when named in --only.",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return out;
}
