// Group commit for POST /api/v1/jobs: single creates that arrive while earlier ones are
// still in the database are coalesced into one INSERT statement (one parse, one commit,
// one WAL flush for the group) instead of one statement each. Each caller still gets its
// own outcome, exactly as createJob would give it alone: created, existing (an idempotent
// repeat, also of a key created earlier in the same group) or an idempotency_conflict.
//
// When nothing is in flight a create runs at once as createJob (no added latency); a group
// forms only from creates that would otherwise wait for a pool connection. The statements
// are create.ts's batch statements (insertMany, FIND_MANY_BY_KEY), so a column added
// there reaches coalesced creates too. They run without a transaction: the INSERT is one
// atomic statement and the key lookup only reads committed rows, as createJob's does.
// If a group's statement fails (a deadlock with a concurrent batch, a constraint), no row
// of it was written, and every member is retried alone with createJob, so one bad item
// cannot fail its neighbours.
import type { Queryable } from '../db/port.ts';
import { AppError } from '../errors.ts';
import { type CreateOutcome, conflict, createJob, FIND_MANY_BY_KEY, insertMany } from './create.ts';
import type { JobRow } from './row.ts';
import type { CreateJob } from './schemas.ts';

/** Statements in flight per database handle before creates start to queue into a group. */
export const MAX_IN_FLIGHT = 2;
/** Largest group (a bound on one statement's size and on the latency it adds). */
export const MAX_GROUP = 500;
/**
 * A group stops growing once its inputs pass this many bytes of JSON (one input may be up
 * to 1 MiB: 500 of them must not become one 500 MB statement). A larger single create
 * still goes, alone.
 */
export const MAX_GROUP_BYTES = 1_048_576;

interface Pending {
  job: CreateJob;
  bytes: number;
  resolve(o: CreateOutcome): void;
  reject(err: unknown): void;
}

interface Coalescer {
  inFlight: number;
  queue: Pending[];
}

const coalescers = new WeakMap<Queryable, Coalescer>();

export function createJobCoalesced(db: Queryable, job: CreateJob): Promise<CreateOutcome> {
  let c = coalescers.get(db);
  if (!c) {
    c = { inFlight: 0, queue: [] };
    coalescers.set(db, c);
  }
  return new Promise((resolve, reject) => {
    c.queue.push({ job, bytes: JSON.stringify(job.input).length, resolve, reject });
    pump(db, c);
  });
}

function pump(db: Queryable, c: Coalescer): void {
  while (c.inFlight < MAX_IN_FLIGHT && c.queue.length > 0) {
    let n = 0;
    let bytes = 0;
    while (n < c.queue.length && n < MAX_GROUP && (n === 0 || bytes + c.queue[n]!.bytes <= MAX_GROUP_BYTES)) {
      bytes += c.queue[n]!.bytes;
      n++;
    }
    const group = c.queue.splice(0, n);
    c.inFlight++;
    void run(db, group).finally(() => {
      c.inFlight--;
      pump(db, c);
    });
  }
}

async function run(db: Queryable, group: Pending[]): Promise<void> {
  if (group.length === 1) {
    const p = group[0]!;
    await createJob(db, p.job).then(p.resolve, p.reject);
    return;
  }
  let outcomes: (CreateOutcome | AppError | undefined)[];
  try {
    outcomes = await createGroup(
      db,
      group.map((p) => p.job),
    );
  } catch {
    // Nothing of the group was written: each member alone, as if it had come alone.
    await Promise.all(group.map((p) => createJob(db, p.job).then(p.resolve, p.reject)));
    return;
  }
  await Promise.all(
    group.map(async (p, i) => {
      const o = outcomes[i];
      if (o instanceof AppError) return p.reject(o);
      if (o) return p.resolve(o);
      // Its key's row vanished between the statements (pruned): createJob's own retry.
      await createJob(db, p.job).then(p.resolve, p.reject);
    }),
  );
}

async function createGroup(
  db: Queryable,
  jobs: readonly CreateJob[],
): Promise<(CreateOutcome | AppError | undefined)[]> {
  const out: (CreateOutcome | AppError | undefined)[] = await insertMany(db, jobs);
  const missing = out.flatMap((o, i) => (o ? [] : [i]));
  if (missing.length === 0) return out;
  const lookup = missing.map((i) => {
    const j = jobs[i]!;
    return {
      i,
      owner_service: j.owner_service,
      idempotency_key: j.idempotency_key,
      owner_ref: j.owner_ref,
      task_type: j.task_type,
      model_profile: j.model_profile,
      input: j.input,
    };
  });
  const found = await db.query<JobRow & { i: number; same: boolean }>(FIND_MANY_BY_KEY, [
    JSON.stringify(lookup),
  ]);
  for (const { i, same, ...row } of found.rows) {
    out[i] = same ? { outcome: 'existing', job: row } : conflict(jobs[i]!, row.id);
  }
  return out;
}
