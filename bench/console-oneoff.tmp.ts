// One-off driver: the console queries at 1M rows (same functions as bench/scale.ts).
import { createMigrated } from '/work/wt/console/bench/lib/db.ts';
import { analyze } from '/work/wt/console/bench/lib/peers.ts';
import { seedJobs } from '/work/wt/console/bench/lib/seed.ts';
import { AB_RESULTS, CONSOLE_QUERIES } from '/work/wt/console/bench/scale.ts';
import { percentile } from '/work/wt/console/bench/lib/stats.ts';
const n = Number(process.argv[2] ?? 1_000_000);
const b = await createMigrated('console', 4);
try {
  let t0 = performance.now();
  await seedJobs(b.db, 0, n);
  const ab = await b.db.query(AB_RESULTS);
  await analyze(b.url, 'ai_jobs');
  console.log(`seeded ${n} in ${((performance.now() - t0) / 1000).toFixed(1)} s; A/B rows ${ab.rowCount}`);
  for (const [name, fn] of CONSOLE_QUERIES) {
    await fn(b.db);
    const xs: number[] = [];
    for (let i = 0; i < 30; i++) { t0 = performance.now(); await fn(b.db); xs.push(performance.now() - t0); }
    console.log(`${name.padEnd(48)} p50 ${percentile(xs, 50).toFixed(2)} ms  p95 ${percentile(xs, 95).toFixed(2)} ms`);
  }
} finally { await b.drop(); }
process.exit(0);
