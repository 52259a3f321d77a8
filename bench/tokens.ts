// Token-aware admission vs fixed concurrency (issue 11), against a loopback fake vLLM that
// models KV-cache capacity the way vLLM's scheduler does:
//   - every running sequence holds (prompt + generated) tokens of KV cache;
//   - one decode step every STEP_MS gives each running sequence one token;
//   - when the cache would overflow, the most recently admitted sequence is preempted
//     (recompute: its KV is dropped, it waits, and on resume pays a prefill of all its
//     tokens again), counted like vllm:num_preemptions_total;
//   - new sequences are admitted while their prompt fits, each paying its prefill.
// The worker side is the product's: claimJobs (with or without PROFILE_TOKEN_BUDGETS),
// runChat from lib/providers/llm.ts, completeJob with the reported usage.
//
// Budget modes: the worst case (prompt + max_tokens, the default) and
// TOKEN_ESTIMATE_QUANTILE 0.9 / 0.5 (prompt + that quantile of what the profile's
// completed answers used of their max_tokens). Every mode first runs --warm jobs, not
// measured, so the learned modes start with a history, as they would in production.
//
//   npx tsx bench/tokens.ts [--jobs 160] [--warm 40] [--quantiles 0.9,0.5] [--only-learned]
// `npm run bench` runs the fixed and budget set-ups as tokensScenario: information rows side by
// side (issue 11 asks for the comparison, not a ratio).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '../lib/db/port.ts';
import { claimJobs } from '../lib/jobs/claim.ts';
import { createJobs } from '../lib/jobs/create.ts';
import { completeJob } from '../lib/jobs/lease.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import { runChat } from '../lib/providers/llm.ts';
import { queuePolicy } from '../lib/queues/policy.ts';
import { isMain } from './lib/cli.ts';
import { createMigrated } from './lib/db.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { midMedian } from './lib/stats.ts';

const KV_CAPACITY = 6_000; // tokens (block_size × num_gpu_blocks)
const STEP_MS = 4;
const PREFILL_TOKENS_PER_MS = 50;
const PROFILE = 'qwen2.5-14b';

interface Seq {
  prompt: number;
  target: number;
  generated: number;
  admittedAt: number;
  prefillLeft: number;
  done: () => void;
}

function startFakeVllm() {
  const waiting: Seq[] = [];
  const running: Seq[] = [];
  let preemptions = 0;
  let order = 0;
  const used = () => running.reduce((s, q) => s + q.prompt + q.generated, 0);
  const timer = setInterval(() => {
    // Admit waiting sequences (FCFS) while their current tokens fit.
    while (waiting.length && used() + waiting[0]!.prompt + waiting[0]!.generated + 1 <= KV_CAPACITY) {
      const s = waiting.shift()!;
      s.admittedAt = order++;
      s.prefillLeft = (s.prompt + s.generated) / PREFILL_TOKENS_PER_MS;
      running.push(s);
    }
    // One decode step: each sequence past its prefill grows by one token.
    for (const s of running) {
      if (s.prefillLeft > 0) s.prefillLeft -= STEP_MS;
      else s.generated++;
    }
    // Overflow: preempt the latest admitted until the cache fits.
    while (used() > KV_CAPACITY && running.length > 1) {
      let victim = running[0]!;
      for (const s of running) if (s.admittedAt > victim.admittedAt) victim = s;
      running.splice(running.indexOf(victim), 1);
      waiting.unshift(victim);
      preemptions++;
    }
    for (const s of [...running])
      if (s.generated >= s.target) {
        running.splice(running.indexOf(s), 1);
        s.done();
      }
  }, STEP_MS);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const r = JSON.parse(body) as { messages: { content: string }[]; max_tokens: number; model: string };
      const chars = r.messages.reduce((n, m) => n + m.content.length, 0);
      const prompt = Math.ceil(chars / 4);
      // Answers stop before max_tokens, as real ones do: 30–100 % of it, fixed by the prompt.
      const target = Math.max(1, Math.round(r.max_tokens * (0.3 + (0.7 * ((chars * 7919) % 101)) / 100)));
      waiting.push({
        prompt,
        target,
        generated: 0,
        admittedAt: 0,
        prefillLeft: 0,
        done: () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              id: 'cmpl-1',
              object: 'chat.completion',
              model: r.model,
              choices: [
                {
                  index: 0,
                  message: { role: 'assistant', content: 'x'.repeat(target) },
                  finish_reason: 'stop',
                },
              ],
              usage: { prompt_tokens: prompt, completion_tokens: target, total_tokens: prompt + target },
            }),
          );
        },
      });
    });
  });
  return new Promise<{ url: string; preemptions: () => number; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        preemptions: () => preemptions,
        close: () => {
          clearInterval(timer);
          return new Promise((r) => server.close(() => r()));
        },
      });
    }),
  );
}

/** Deterministic mixed workload: prompts of 400–4,000 characters, max_tokens 64–768. */
function workload(n: number, tag = 't') {
  let x = 12345;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  return Array.from({ length: n }, (_, i) => ({
    owner_service: 'crm',
    owner_ref: `${tag}-${i}`,
    task_type: 'llm_chat',
    model_profile: PROFILE,
    input: { user: 'y'.repeat(400 + Math.floor(rnd() * 3600)), max_tokens: 64 + Math.floor(rnd() * 704) },
  }));
}

interface Outcome {
  tokensPerS: number;
  p95ms: number;
  p50ms: number;
  makespanS: number;
  preemptions: number;
}

async function run(
  mode: 'fixed' | 'budget',
  jobs: number,
  slots: number,
  warm: number,
  quantile = 1,
): Promise<Outcome> {
  const b = await createMigrated(`tok_${mode}`, 8);
  const vllm = await startFakeVllm();
  try {
    const policy =
      mode === 'budget'
        ? queuePolicy({
            PROFILE_TOKEN_BUDGETS: { [PROFILE]: KV_CAPACITY },
            TOKEN_ESTIMATE_QUANTILE: quantile,
          })
        : undefined;
    if (warm > 0) {
      await createJobs(b.db, workload(warm, 'warm'));
      await burn(b.db, vllm.url, warm, slots, policy);
    }
    await createJobs(b.db, workload(jobs));
    const preempted = vllm.preemptions();
    const o = await burn(b.db, vllm.url, jobs, slots, policy);
    return { ...o, preemptions: vllm.preemptions() - preempted };
  } finally {
    await vllm.close();
    await b.drop();
  }
}

async function burn(
  db: Db,
  url: string,
  jobs: number,
  slots: number,
  policy: ReturnType<typeof queuePolicy> | undefined,
): Promise<Omit<Outcome, 'preemptions'>> {
  const latencies: number[] = [];
  let completionTokens = 0;
  let left = jobs;
  const t0 = performance.now();
  // One dispatcher, as the built-in runner does: claim up to the free slots, and after an
  // empty claim wait for a completion (or 50 ms) instead of polling the database.
  let inflight = 0;
  let wake: () => void = () => {};
  const runOne = async (job: JobRow) => {
    const started = performance.now();
    const r = await runChat(job.input, {
      baseUrl: url,
      model: PROFILE,
      timeoutMs: 600_000,
      provider: 'llm',
    });
    await completeJob(db, { id: job.id, workerId: 'tok', leaseToken: job.lease_token! }, { usage: r.usage });
    latencies.push(performance.now() - started);
    completionTokens += r.usage.completion_tokens;
    left--;
    inflight--;
    wake();
  };
  while (left > 0) {
    const free = slots - inflight;
    const got =
      free > 0 ? await claimJobs(db, { workerId: 'tok', limit: free, leaseMs: 600_000, policy }) : [];
    for (const job of got) {
      inflight++;
      void runOne(job);
    }
    if (got.length === 0 && left > 0)
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
  }
  const ms = performance.now() - t0;
  latencies.sort((a, c) => a - c);
  return {
    tokensPerS: (completionTokens / ms) * 1000,
    p95ms: latencies[Math.ceil(latencies.length * 0.95) - 1]!,
    p50ms: latencies[Math.floor(latencies.length / 2)]!,
    makespanS: ms / 1000,
  };
}

const SETUPS = [
  ['fixed', 8, 'fixed concurrency 8', 1],
  ['fixed', 16, 'fixed concurrency 16', 1],
  ['budget', 32, `token budget ${KV_CAPACITY} (32 slots)`, 1],
  ['budget', 32, `token budget ${KV_CAPACITY}, learned p90`, 0.9],
] as const;
const WARM = 40;

const describe = (jobs: number) =>
  `token admission: ${jobs} llm_chat jobs (prompt 100–1,000 tokens, max_tokens 64–768, answers 30–100 % of it), ` +
  `fake vLLM with ${KV_CAPACITY} KV tokens, ${STEP_MS} ms/step; ${WARM} jobs first, not measured`;

/** The three set-ups, `runs` times each (order rotated per run); medians side by side. */
export async function tokensScenario(opts: {
  jobs: number;
  runs: number;
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const out = SETUPS.map(() => [] as Outcome[]);
  for (let r = 0; r < opts.runs; r++)
    for (let i = 0; i < SETUPS.length; i++) {
      const k = (i + r) % SETUPS.length;
      const [mode, slots, label, quantile] = SETUPS[k]!;
      const o = await run(mode, opts.jobs, slots, WARM, quantile);
      out[k]!.push(o);
      log(
        `  tokens run ${r + 1}/${opts.runs} ${label}: ${o.tokensPerS.toFixed(0)} tokens/s, p95 ${(o.p95ms / 1000).toFixed(2)} s, ${o.preemptions} preemptions`,
      );
    }
  const section = `token admission, ${opts.jobs} LLM jobs`;
  const rows: Row[] = [];
  for (const [k, [, , label]] of SETUPS.entries()) {
    const xs = out[k]!;
    const m = (f: (o: Outcome) => number) => midMedian(xs.map(f));
    rows.push(
      row(
        section,
        `${label}: completion tokens/s`,
        m((o) => o.tokensPerS),
        'tokens/s',
        { runs: xs.map((o) => o.tokensPerS) },
      ),
    );
    rows.push(
      row(section, `${label}: p95 job latency`, m((o) => o.p95ms) / 1000, 's', {
        runs: xs.map((o) => o.p95ms / 1000),
      }),
    );
    rows.push(
      row(
        section,
        `${label}: preemptions`,
        m((o) => o.preemptions),
        'count',
        { runs: xs.map((o) => o.preemptions) },
      ),
    );
  }
  return { rows, notes: [`${describe(opts.jobs)}; median of ${opts.runs} run(s), set-ups rotated.`] };
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const jobs = flag('--jobs', 160);
  const warm = flag('--warm', 40);
  console.log(
    `token admission: ${jobs} llm_chat jobs (prompt 100–1,000 tokens, max_tokens 64–768, answers 30–100 % of it), ` +
      `fake vLLM with ${KV_CAPACITY} KV tokens, ${STEP_MS} ms/step; ${warm} jobs first, not measured`,
  );
  const qi = args.indexOf('--quantiles');
  const quantiles = (qi >= 0 ? args[qi + 1]! : '0.9,0.5').split(',').map(Number);
  const modes: (readonly [mode: 'fixed' | 'budget', slots: number, label: string, quantile: number])[] = [
    ...(args.includes('--only-learned')
      ? []
      : ([
          ['fixed', 8, 'fixed concurrency 8', 1],
          ['fixed', 16, 'fixed concurrency 16', 1],
          ['budget', 32, `token budget ${KV_CAPACITY} (32 slots)`, 1],
        ] as const)),
    ...quantiles.map((q) => ['budget', 32, `budget, learned p${Math.round(q * 100)}`, q] as const),
  ];
  for (const [mode, slots, label, quantile] of modes) {
    const o = await run(mode, jobs, slots, warm, quantile);
    console.log(
      `  ${label.padEnd(28)} ${o.tokensPerS.toFixed(0).padStart(6)} completion tokens/s  p50 ${(o.p50ms / 1000).toFixed(2)} s  p95 ${(o.p95ms / 1000).toFixed(2)} s  makespan ${o.makespanS.toFixed(1)} s  preemptions ${o.preemptions}`,
    );
  }
}
