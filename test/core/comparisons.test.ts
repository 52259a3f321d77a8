// The deferred transcription comparison in the database (migration 006 and
// lib/jobs/comparisons.ts), on every available driver: a transcript completing with
// `pending` attempts enqueues one comparison job per provider, atomically; a comparison
// records its transcript in the parent's attempts once, fenced by its lease; a comparison
// ending failed by any path marks its entry failed; the parent's status, finish time and
// updated_at never move; callers' lists and stats do not show comparison jobs.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { cancelByFilter } from '../../lib/jobs/admin.ts';
import { claimJobs } from '../../lib/jobs/claim.ts';
import { loadComparison, recordComparison } from '../../lib/jobs/comparisons.ts';
import { createJob } from '../../lib/jobs/create.ts';
import { completeJob, completeMany, failJob } from '../../lib/jobs/lease.ts';
import { getJob, listJobs } from '../../lib/jobs/list.ts';
import { reapExpiredLeases } from '../../lib/jobs/reap.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import { jobStats } from '../../lib/jobs/stats.ts';
import type { TranscriptionAttempt } from '../../lib/providers/types.ts';
import { comparisonState, withAgreements } from '../../lib/transcripts/compare.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';

type Row = JobRow & { parent_id: string | null };

const attempt = (provider: string, status: string, text = ''): Record<string, unknown> => ({
  provider,
  model: provider,
  status,
  text,
  segments: [],
  duration_ms: status === 'completed' ? 100 : 0,
  error: null,
});

const transcriptResult = (comparison = 'pending') => ({
  text: 'алло это тест',
  segments: [],
  provider: 'whisperx',
  model: 'whisperx',
  attempts: [
    attempt('whisperx', 'completed', 'алло это тест'),
    attempt('qwen2-audio', comparison === 'pending' ? 'pending' : 'skipped'),
    attempt('voxtral-small', comparison === 'pending' ? 'pending' : 'skipped'),
  ],
  comparison,
  duration_ms: 100,
});

describe.each(DRIVERS)('transcription comparisons on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
  });

  const row = async (id: string) => (await getJob(db, id)) as Row;
  const children = async (parentId: string) =>
    (await db.query<Row>('SELECT * FROM ai_jobs WHERE parent_id = $1 ORDER BY model_profile', [parentId]))
      .rows;

  /** A transcript job, claimed and completed with `result`; returns the completed row. */
  async function completedTranscript(result: Record<string, unknown>, priority = 5): Promise<Row> {
    const { job } = await createJob(db, {
      owner_service: 'telephony',
      owner_ref: 'beeline/42',
      task_type: 'transcribe',
      model_profile: 'whisperx',
      input: { audio_url: 'http://store/a.wav' },
      priority,
      max_attempts: 4,
    });
    const [claimed] = await claimJobs(db, {
      workerId: 'w1',
      limit: 1,
      leaseMs: 60_000,
      taskTypes: ['transcribe'],
    });
    await completeJob(db, { id: claimed!.id, workerId: 'w1', leaseToken: claimed!.lease_token! }, result);
    return row(job.id);
  }

  const claimComparisons = (workerId = 'cw', leaseMs = 60_000) =>
    claimJobs(db, { workerId, limit: 10, leaseMs, taskTypes: ['transcribe_compare'] });

  const lease = (j: JobRow) => ({ id: j.id, workerId: j.worker_id!, leaseToken: j.lease_token! });

  /** What the comparison worker stores: the entry completed with `text`, agreements updated. */
  const merge = (index: number, provider: string, text: string) => (attempts: Record<string, unknown>[]) => {
    const next = [...attempts] as unknown as TranscriptionAttempt[];
    next[index] = attempt(provider, 'completed', text) as unknown as TranscriptionAttempt;
    const merged = withAgreements(next, index);
    return { attempts: merged, comparison: comparisonState(merged) };
  };

  it('completing a transcript with pending attempts enqueues one comparison per provider, below every caller priority', async () => {
    const parent = await completedTranscript(transcriptResult(), 5);
    const kids = await children(parent.id);
    expect(kids.map((k) => [k.task_type, k.model_profile, k.status, k.input])).toEqual([
      ['transcribe_compare', 'qwen2-audio', 'pending', { attempt: 1, provider: 'qwen2-audio' }],
      ['transcribe_compare', 'voxtral-small', 'pending', { attempt: 2, provider: 'voxtral-small' }],
    ]);
    for (const k of kids) {
      expect(k).toMatchObject({
        owner_service: 'telephony',
        owner_ref: 'beeline/42',
        priority: 5 - 2001,
        max_attempts: 4,
        parent_id: parent.id,
      });
      expect(k.priority).toBeLessThan(-1000);
    }
    // A first transcript created later is still claimed before them.
    const { job: later } = await createJob(db, {
      owner_service: 'telephony',
      owner_ref: 'beeline/43',
      task_type: 'transcribe',
      model_profile: 'whisperx',
      input: {},
      priority: -1000,
    });
    const [first] = await claimJobs(db, { workerId: 'w2', limit: 1, leaseMs: 60_000 });
    expect(first!.id).toBe(later.id);
  });

  it('enqueues nothing for a transcript compared inline, not sampled, or completed by completeMany without pending', async () => {
    const a = await completedTranscript(transcriptResult('skipped'));
    const b = await completedTranscript({
      ...transcriptResult('complete'),
      attempts: [attempt('whisperx', 'completed', 'x')],
    });
    expect(await children(a.id)).toEqual([]);
    expect(await children(b.id)).toEqual([]);
    // completeMany (the runner's batched path) enqueues exactly like completeJob.
    const { job } = await createJob(db, {
      owner_service: 't',
      owner_ref: 'r',
      task_type: 'transcribe',
      model_profile: 'whisperx',
      input: {},
    });
    const [c] = await claimJobs(db, { workerId: 'w3', limit: 1, leaseMs: 60_000, taskTypes: ['transcribe'] });
    await completeMany(db, [{ ...lease(c!), result: transcriptResult() }]);
    expect((await children(job.id)).map((k) => k.model_profile)).toEqual(['qwen2-audio', 'voxtral-small']);
    // Other task types never enqueue, whatever their result says.
    const { job: llm } = await createJob(db, {
      owner_service: 't',
      owner_ref: 'r',
      task_type: 'llm_chat',
      model_profile: 'q',
      input: {},
    });
    const [l] = await claimJobs(db, { workerId: 'w4', limit: 1, leaseMs: 60_000, taskTypes: ['llm_chat'] });
    await completeJob(db, lease(l!), transcriptResult());
    expect(await children(llm.id)).toEqual([]);
  });

  it('a comparison records its transcript and both agreements once; the parent stays completed and untouched', async () => {
    const parent = await completedTranscript(transcriptResult());
    const [q, v] = await claimComparisons();
    const qwen = q!.model_profile === 'qwen2-audio' ? q! : v!;
    const voxtral = qwen === q ? v! : q!;
    const target = await loadComparison(db, qwen.id);
    expect(target).toMatchObject({
      parentId: parent.id,
      index: 1,
      input: { audio_url: 'http://store/a.wav' },
    });

    expect(
      await recordComparison(db, lease(qwen), target!, merge(1, 'qwen2-audio', 'алло это тест да')),
    ).toBe('recorded');
    let p = await row(parent.id);
    let r = p.result as { attempts: Record<string, unknown>[]; comparison: string };
    expect(r.comparison).toBe('pending');
    expect(r.attempts[1]).toMatchObject({
      status: 'completed',
      text: 'алло это тест да',
      agreement: { whisperx: 0.6667 },
    });
    expect(r.attempts[0]).toMatchObject({ agreement: { 'qwen2-audio': 0.75 } });
    expect(r.attempts[2]).toMatchObject({ status: 'pending' });
    // Never reopened: status, finish time and updated_at are the completion's.
    expect(p).toMatchObject({
      status: 'completed',
      finished_at: parent.finished_at,
      updated_at: parent.updated_at,
    });

    // A second write for the same entry (a re-run after a crash) changes nothing.
    expect(await recordComparison(db, lease(qwen), target!, merge(1, 'qwen2-audio', 'другое'))).toBe(
      'not_pending',
    );
    // A stale holder (its lease token no longer current) writes nothing.
    const vTarget = (await loadComparison(db, voxtral.id))!;
    const stale = { ...lease(voxtral), leaseToken: '00000000-0000-4000-8000-000000000000' };
    expect(await recordComparison(db, stale, vTarget, merge(2, 'voxtral-small', 'алло'))).toBe('lease_lost');

    expect(await recordComparison(db, lease(voxtral), vTarget, merge(2, 'voxtral-small', 'алло тест'))).toBe(
      'recorded',
    );
    p = await row(parent.id);
    r = p.result as typeof r;
    expect(r.comparison).toBe('complete');
    expect(r.attempts.map((a) => [a['provider'], a['status'], a['text'], a['agreement']])).toEqual([
      // whisperx has one word fewer than qwen (1 deletion / 4) and one more than voxtral (1 / 2)…
      ['whisperx', 'completed', 'алло это тест', { 'qwen2-audio': 0.75, 'voxtral-small': 0.5 }],
      // …qwen has two words more than voxtral: 2 insertions / 2 reference words → 0.
      ['qwen2-audio', 'completed', 'алло это тест да', { whisperx: 0.6667, 'voxtral-small': 0 }],
      ['voxtral-small', 'completed', 'алло тест', { whisperx: 0.6667, 'qwen2-audio': 0.5 }],
    ]);
    expect(p).toMatchObject({
      status: 'completed',
      finished_at: parent.finished_at,
      updated_at: parent.updated_at,
    });
  });

  it('two comparisons of one transcript recorded at once both land, with the pair between them', async () => {
    const parent = await completedTranscript(transcriptResult());
    const kids = await claimComparisons();
    const targets = await Promise.all(kids.map((k) => loadComparison(db, k.id)));
    const outcomes = await Promise.all(
      kids.map((k, n) =>
        recordComparison(
          db,
          lease(k),
          targets[n]!,
          merge(targets[n]!.index, k.model_profile, `алло ${k.model_profile}`),
        ),
      ),
    );
    expect(outcomes).toEqual(['recorded', 'recorded']);
    const r = (await row(parent.id)).result as { attempts: Record<string, unknown>[]; comparison: string };
    expect(r.comparison).toBe('complete');
    expect(r.attempts[1]!['agreement']).toHaveProperty('voxtral-small');
    expect(r.attempts[2]!['agreement']).toHaveProperty('qwen2-audio');
  });

  it('a comparison ending failed — final category, retries exhausted by the reaper, or cancelled — marks its entry failed', async () => {
    const parent = await completedTranscript(transcriptResult());
    const [a, b] = await claimComparisons('cw', 1_000);
    const qwen = a!.model_profile === 'qwen2-audio' ? a! : b!;
    const voxtral = qwen === a ? b! : a!;

    // Retryable with attempts left: back to pending, the entry stays pending.
    await failJob(db, lease(qwen), { category: 'provider_unavailable', message: 'connection refused' });
    let r = (await row(parent.id)).result as { attempts: Record<string, unknown>[]; comparison: string };
    expect(r.attempts[1]).toMatchObject({ status: 'pending' });

    // Final: the entry is failed with the job's category and message.
    await failJob(db, lease(voxtral), { category: 'unsupported', message: 'voxtral refused the format' });
    r = (await row(parent.id)).result as typeof r;
    expect(r.attempts[2]).toMatchObject({
      status: 'failed',
      text: '',
      error: { category: 'unsupported', message: 'voxtral refused the format' },
    });
    expect(r.comparison).toBe('pending');

    // Last attempt held by a worker that died: the reaper fails it, the entry follows.
    await db.query(`UPDATE ai_jobs SET run_after = now(), attempts = max_attempts - 1 WHERE id = $1`, [
      qwen.id,
    ]);
    const [again] = await claimComparisons('dead-worker', 1);
    expect(again!.id).toBe(qwen.id);
    await new Promise((res) => setTimeout(res, 20));
    expect((await reapExpiredLeases(db)).failed).toBe(1);
    const p = await row(parent.id);
    r = p.result as typeof r;
    expect(r.attempts[1]).toMatchObject({ status: 'failed', error: { category: 'timeout' } });
    expect(r.comparison).toBe('complete');
    expect(p).toMatchObject({ status: 'completed', updated_at: parent.updated_at });

    // Cancelling a comparison (by filter) before it ran marks it failed as cancelled.
    const other = await completedTranscript(transcriptResult());
    await cancelByFilter(db, {
      task_type: ['transcribe_compare'],
      model_profile: ['qwen2-audio'],
      status: ['pending'],
    });
    const o = (await row(other.id)).result as typeof r;
    expect(o.attempts[1]).toMatchObject({ status: 'failed', error: { category: 'cancelled' } });
    expect(o.attempts[2]).toMatchObject({ status: 'pending' });
  });

  it('callers do not see comparison jobs in lists or stats', async () => {
    const parent = await completedTranscript(transcriptResult());
    expect((await children(parent.id)).length).toBe(2);
    const mine = await listJobs(db, { owner_service: 'telephony', owner_ref: 'beeline/42' });
    expect(mine.jobs.map((j) => j.id)).toEqual([parent.id]);
    const all = await listJobs(db, { status: ['pending', 'completed'] });
    expect(all.jobs.map((j) => j.id)).toEqual([parent.id]);
    const pending = await listJobs(db, { status: ['pending'] });
    expect(pending.jobs).toEqual([]);

    const stats = await jobStats(db);
    expect(stats.queue).toMatchObject({ pending: 0, pending_ready: 0, running: 0 });
    expect(stats.finished.completed).toBe(1);
    // The ops view keeps the comparison backlog per type.
    expect(stats.by_type).toEqual([
      { task_type: 'transcribe_compare', model_profile: 'qwen2-audio', pending: 1, running: 0 },
      { task_type: 'transcribe_compare', model_profile: 'voxtral-small', pending: 1, running: 0 },
    ]);
    const [k] = await claimComparisons();
    await completeJob(db, lease(k!), { outcome: 'recorded' });
    const after = await jobStats(db);
    expect(after.finished.completed).toBe(1);
    expect(after.queue.running).toBe(0);
  });
});
