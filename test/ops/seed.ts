// Rows for the console tests, inserted straight into ai_jobs: a backlog, a failure group,
// an XSS payload, transcription jobs in the A/B result contract with known word error
// rates, and LLM jobs with token usage. Expected figures are worked out by hand below.
import type { Queryable } from '../../lib/db/port.ts';

export const XSS_REF = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';

// Transcripts with hand-counted errors against whisperx (9 reference words):
//   voxtral: "jumps" → "jumped"                     1 substitution        WER 1/9
//   qwen:    missing "the", extra "today"           1 deletion, 1 insert  WER 2/9
export const T1 = {
  whisperx: 'The quick brown fox jumps over the lazy dog.',
  voxtral: 'the quick brown fox jumped over the lazy dog',
  qwen: 'quick brown fox jumps over the lazy dog today',
};
export const T2 = 'hello world this is a test';
export const EXPECTED = {
  // job 1: 1 − 1/9; job 2: identical texts, 1.0
  voxtralVsWhisperx: (1 - 1 / 9 + 1) / 2,
  qwenVsWhisperx: 1 - 2 / 9,
  job1: { voxtral: 1 - 1 / 9, qwen: 1 - 2 / 9 },
  // RTF = Σ processing s / Σ audio s over completed attempts
  rtf: { whisperx: (2 + 1) / (10 + 5), voxtral: (4 + 3) / (10 + 5), qwen: 6 / 10 },
  successRate: { whisperx: 1, voxtral: 1, qwen: 0.5 },
  whisperxP50: 1500,
  // busy seconds count completed and failed jobs: crm has 1 + 2 s completed and 3 × 0.5 s failed;
  // once the failure group is retried (as both test files do first) only the 3 s remain.
  usage: {
    crmPrompt: 150,
    crmCompletion: 30,
    crmBusy: 4.5,
    crmBusyAfterRetry: 3,
    telephonyAudio: 15,
    telephonyBusy: 7,
  },
};

const attempt = (
  provider: string,
  text: string,
  duration_ms: number,
  audio: number,
  agreement: Record<string, number>,
) => ({
  provider,
  model: `${provider}-model`,
  status: 'completed',
  text,
  segments: [{ start: 0, end: audio, text }],
  duration_ms,
  error: null,
  audio_duration_sec: audio,
  rtf: duration_ms / 1000 / audio,
  word_count: text.split(/\s+/).length,
  agreement,
});

interface Row {
  owner_service: string;
  owner_ref: string;
  task_type: string;
  model_profile: string;
  input?: unknown;
  result?: unknown;
  status: string;
  attempts?: number;
  worker_id?: string | null;
  lease_expires_in_s?: number | null;
  error_category?: string | null;
  error_message?: string | null;
  finished_ago_s?: number | null;
  duration_ms?: number | null;
}

export async function insertJob(db: Queryable, r: Row): Promise<string> {
  const res = await db.query<{ id: string }>(
    `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input, result, status, attempts,
        worker_id, lease_token, lease_expires_at, error_category, error_message, started_at, finished_at, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
        CASE WHEN $10::float8 IS NULL THEN NULL ELSE gen_random_uuid() END,
        now() + make_interval(secs => $10::float8), $11, $12,
        CASE WHEN $7 = 'pending' THEN NULL ELSE now() - interval '1 minute' END,
        now() - make_interval(secs => $13::float8), $14)
     RETURNING id`,
    [
      r.owner_service,
      r.owner_ref,
      r.task_type,
      r.model_profile,
      JSON.stringify(r.input ?? { prompt: 'hi' }),
      r.result === undefined ? null : JSON.stringify(r.result),
      r.status,
      r.attempts ?? (r.status === 'pending' ? 0 : 1),
      r.worker_id ?? null,
      r.lease_expires_in_s ?? null,
      r.error_category ?? null,
      r.error_message ?? null,
      r.finished_ago_s ?? null,
      r.duration_ms ?? null,
    ],
  );
  return res.rows[0]!.id;
}

export interface Seeded {
  failedIds: string[];
  xssId: string;
  abJob1: string;
  abJob2: string;
}

export async function seedConsole(db: Queryable): Promise<Seeded> {
  const llm = { task_type: 'llm_chat', model_profile: 'qwen2.5-14b' };
  for (let i = 0; i < 3; i++)
    await insertJob(db, { owner_service: 'crm', owner_ref: `lead/${i}`, ...llm, status: 'pending' });
  for (let i = 0; i < 2; i++)
    await insertJob(db, {
      owner_service: 'telephony',
      owner_ref: `call/p${i}`,
      task_type: 'transcribe',
      model_profile: 'whisperx',
      status: 'pending',
    });
  // A running job whose lease ran out 2 minutes ago: an expired lease the reaper owes.
  await insertJob(db, {
    owner_service: 'crm',
    owner_ref: 'lead/stuck',
    ...llm,
    status: 'running',
    worker_id: 'gpu-worker-7',
    lease_expires_in_s: -120,
  });
  const failedIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    failedIds.push(
      await insertJob(db, {
        owner_service: 'crm',
        owner_ref: `lead/f${i}`,
        ...llm,
        status: 'failed',
        attempts: 3,
        worker_id: 'gpu-worker-1',
        error_category: 'provider_unavailable',
        error_message: `vLLM answered 503 (try ${i})`,
        finished_ago_s: 60 * (i + 1),
        duration_ms: 500,
      }),
    );
  }
  const xssId = await insertJob(db, {
    owner_service: 'xss',
    owner_ref: XSS_REF,
    ...llm,
    input: { prompt: '</pre><script>window.__xss = 3</script>' },
    status: 'failed',
    error_category: 'invalid_input',
    error_message: '<b onmouseover="window.__xss=4">bold</b>',
    finished_ago_s: 30,
    duration_ms: 10,
  });
  // Usage: two completed LLM jobs of crm with token counts (prompt 150, completion 30, 3 s busy).
  await insertJob(db, {
    owner_service: 'crm',
    owner_ref: 'lead/u1',
    ...llm,
    status: 'completed',
    result: { content: 'ok', usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } },
    finished_ago_s: 300,
    duration_ms: 1000,
  });
  await insertJob(db, {
    owner_service: 'crm',
    owner_ref: 'lead/u2',
    ...llm,
    status: 'completed',
    result: { content: 'ok', usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 } },
    finished_ago_s: 400,
    duration_ms: 2000,
  });
  // A/B: two compared transcription jobs (telephony, 15 s of audio, 7 s busy).
  const job1 = {
    text: T1.whisperx,
    segments: [],
    provider: 'whisperx',
    model: 'large-v3',
    duration_ms: 2000,
    comparison: 'complete',
    attempts: [
      attempt('whisperx', T1.whisperx, 2000, 10, { voxtral: 1 - 1 / 9, qwen: 1 - 2 / 9 }),
      attempt('voxtral', T1.voxtral, 4000, 10, { whisperx: 1 - 1 / 9 }),
      attempt('qwen', T1.qwen, 6000, 10, { whisperx: 1 - 2 / 9 }),
    ],
  };
  const job2 = {
    text: T2,
    segments: [],
    provider: 'whisperx',
    model: 'large-v3',
    duration_ms: 1000,
    comparison: 'complete',
    attempts: [
      attempt('whisperx', T2, 1000, 5, { voxtral: 1 }),
      attempt('voxtral', T2, 3000, 5, { whisperx: 1 }),
      {
        provider: 'qwen',
        model: 'qwen-model',
        status: 'failed',
        text: '',
        segments: [],
        duration_ms: 30000,
        error: { category: 'timeout', message: 'no answer in 30 s' },
      },
    ],
  };
  const abJob1 = await insertJob(db, {
    owner_service: 'telephony',
    owner_ref: 'call/ab1',
    task_type: 'transcribe',
    model_profile: 'whisperx',
    status: 'completed',
    result: job1,
    finished_ago_s: 600,
    duration_ms: 4000,
  });
  const abJob2 = await insertJob(db, {
    owner_service: 'telephony',
    owner_ref: 'call/ab2',
    task_type: 'transcribe',
    model_profile: 'whisperx',
    status: 'completed',
    result: job2,
    finished_ago_s: 700,
    duration_ms: 3000,
  });
  return { failedIds, xssId, abJob1, abJob2 };
}
