// Announces jobs that reached a terminal state on ai_jobs_finished, from inside the very
// statement that ended them: the UPDATE runs as a CTE, and one call to
// ai_jobs_notify_finished(ids) (migration 003) sends a NOTIFY per 200 ids. Cheaper than a
// per-row trigger, and atomic with the change: the NOTIFY is delivered on commit.
// Every statement that can end a job goes through here (complete, completeMany, fail,
// cancel, reap); test/core/notify.test.ts checks each one wakes a long-poll.

/**
 * @param update an `UPDATE … RETURNING` whose returned columns include `id` and `status`
 * @param ctes   CTEs the UPDATE refers to (PostgreSQL allows a data-modifying CTE only at
 *               the top level, so they are spliced in before it rather than nested)
 * @param select the columns to return from the UPDATE's rows (`u.*` by default)
 */
export function announceFinished(update: string, opts: { ctes?: string; select?: string } = {}): string {
  return `WITH ${opts.ctes ? `${opts.ctes},\n` : ''}u AS (${update}),
n AS MATERIALIZED (
  SELECT ai_jobs_notify_finished(array_agg(id)) FROM u WHERE status IN ('completed', 'failed', 'cancelled')
)
SELECT ${opts.select ?? 'u.*'} FROM u, n`;
}
