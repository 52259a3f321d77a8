// Create → transcript available, with three transcription providers where the comparison
// providers are slow (issue 12). Three designs, each on a fresh PostgreSQL database with
// the worker as shipped (startWorker, built-in handlers) against loopback fakes of
// whisper-asr-webservice and two vLLM servers (test/support), delays fixed per provider:
//
//   whisperx alone    TRANSCRIPTION_PROVIDERS=whisperx: the first provider's latency, the target
//   inline            all three, compare: "inline" (the old behaviour: in series, then complete)
//   deferred          all three, the default: complete after whisperx, comparisons as jobs
//
// Jobs arrive open-loop (one every --gap ms, jittered ±50%). "Available" = the moment the
// caller would learn the job completed: the ai_jobs_finished NOTIFY a long-polling
// GET /jobs/{id}?wait= waits on, measured from the acknowledged INSERT (one clock, this
// process). For the deferred design, "compared" = result.comparison = 'complete'
// (polled every 20 ms).
//
//   npx tsx bench/transcribe-latency.ts [--jobs 30] [--gap 400] [--wx 150] [--qwen 1500] [--voxtral 2500] [--claim-limit 16]
// Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
import { loadConfig } from '../lib/config/load.ts';
import { openPg } from '../lib/db/pg.ts';
import { createJob } from '../lib/jobs/create.ts';
import { makeWav, toBase64 } from '../test/support/fake-audio.ts';
import { startFakeOpenAI } from '../test/support/fake-openai.ts';
import { startFakeWhisperX } from '../test/support/fake-whisperx.ts';
import { startWorker } from '../workers/worker.ts';
import { createMigrated } from './lib/db.ts';
import { fmt, percentile, sleep, until } from './lib/stats.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('jobs', 30);
const GAP_MS = arg('gap', 400);
const WX_MS = arg('wx', 150);
const QWEN_MS = arg('qwen', 1500);
const VOXTRAL_MS = arg('voxtral', 2500);
const CLAIM_LIMIT = arg('claim-limit', 16);

type Design = 'whisperx alone' | 'inline' | 'deferred';

interface Outcome {
  design: Design;
  available: number[];
  compared: number[];
  wallMs: number;
}

async function run(design: Design): Promise<Outcome> {
  const [wx, qwen, voxtral] = await Promise.all([startFakeWhisperX(), startFakeOpenAI(), startFakeOpenAI()]);
  wx.setBehaviour({
    kind: 'answer',
    delayMs: WX_MS,
    segments: [{ start: 0, end: 2, text: ' Алло, это тест.' }],
  });
  qwen.setBehaviour({ kind: 'answer', delayMs: QWEN_MS, content: 'Алло, это тест, да.' });
  voxtral.setBehaviour({ kind: 'answer', delayMs: VOXTRAL_MS, content: 'Алло тест.' });
  const b = await createMigrated(`transcribe_${design.replace(/\W/g, '_')}`, 10);
  const creator = openPg(b.url, { max: 1, applicationName: 'aisvc-bench-creator' });
  const listener = openPg(b.url, { max: 1, applicationName: 'aisvc-bench-listener' });
  const finishedAt = new Map<string, number>();
  const unlisten = await listener.listen!('ai_jobs_finished', (payload) => {
    const now = performance.now();
    for (const id of payload.split(',')) if (!finishedAt.has(id)) finishedAt.set(id, now);
  });
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATABASE_URL: b.url,
    WORKER_ID: 'bench-transcribe',
    WORKER_CLAIM_LIMIT: String(CLAIM_LIMIT),
    TRANSCRIPTION_PROVIDERS: design === 'whisperx alone' ? 'whisperx' : 'whisperx,qwen2-audio,voxtral-small',
    WHISPERX_URL: wx.url,
    QWEN_AUDIO_BASE_URL: qwen.url,
    VOXTRAL_BASE_URL: voxtral.url,
    AUDIO_LLM_TIMEOUT: '60s',
  });
  const worker = await startWorker(config, { db: b.db, probe: false });
  const audio = toBase64(makeWav({ seconds: 2 }));
  const created = new Map<string, number>();
  const comparedAt = new Map<string, number>();
  const t0 = performance.now();
  try {
    await until(() => worker.status().listen.state === 'listening', 'the worker to listen', 10_000, 5);
    for (let i = 0; i < JOBS; i++) {
      const { job } = await createJob(creator, {
        owner_service: 'telephony',
        owner_ref: `bench/${i}`,
        task_type: 'transcribe',
        model_profile: 'whisperx',
        input: {
          audio_base64: audio,
          mime_type: 'audio/wav',
          ...(design === 'inline' && { compare: 'inline' }),
        },
      });
      created.set(job.id, performance.now());
      await sleep(GAP_MS * (0.5 + Math.random()));
    }
    const ids = [...created.keys()];
    await until(() => ids.every((id) => finishedAt.has(id)), 'every transcript', 120_000, 10);
    if (design === 'deferred') {
      await until(
        async () => {
          const r = await creator.query<{ id: string; c: string }>(
            `SELECT id, result->>'comparison' AS c FROM ai_jobs WHERE id = ANY($1::uuid[])`,
            [ids.filter((id) => !comparedAt.has(id))],
          );
          const now = performance.now();
          for (const x of r.rows) if (x.c === 'complete') comparedAt.set(x.id, now);
          return comparedAt.size === ids.length;
        },
        'every comparison',
        120_000,
        20,
      );
    }
    // Every transcript completed; every comparison job ended (it completes just after recording).
    const notDone = await creator.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE parent_id IS NULL AND status <> 'completed'`,
    );
    if (notDone.rows[0]!.n !== 0) throw new Error(`${design}: some transcripts did not complete`);
    await until(
      async () =>
        (
          await creator.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ai_jobs WHERE parent_id IS NOT NULL AND status IN ('pending', 'running')`,
          )
        ).rows[0]!.n === 0,
      'the comparison jobs to end',
      30_000,
      20,
    );
    return {
      design,
      available: ids.map((id) => finishedAt.get(id)! - created.get(id)!),
      compared: ids.filter((id) => comparedAt.has(id)).map((id) => comparedAt.get(id)! - created.get(id)!),
      wallMs: performance.now() - t0,
    };
  } finally {
    await worker.stop();
    await unlisten();
    await Promise.all([creator.close(), listener.close()]);
    await b.drop();
    await Promise.all([wx.close(), qwen.close(), voxtral.close()]);
  }
}

async function main() {
  console.log(
    `${JOBS} jobs, one every ${GAP_MS} ms ±50%; provider delays whisperx ${WX_MS} ms, qwen2-audio ${QWEN_MS} ms, voxtral-small ${VOXTRAL_MS} ms; WORKER_CLAIM_LIMIT ${CLAIM_LIMIT}\n`,
  );
  const out: Outcome[] = [];
  for (const d of ['whisperx alone', 'inline', 'deferred'] as const) out.push(await run(d));
  const p = (xs: number[], q: number) => fmt(percentile(xs, q), 0);
  console.log('| design | transcript available p50 | p95 | max | all comparisons done p50 | p95 |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const o of out) {
    const cmp = o.design === 'inline' ? o.available : o.compared;
    console.log(
      `| ${o.design} | ${p(o.available, 50)} ms | ${p(o.available, 95)} ms | ${fmt(Math.max(...o.available), 0)} ms | ${cmp.length ? `${p(cmp, 50)} ms` : '—'} | ${cmp.length ? `${p(cmp, 95)} ms` : '—'} |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
