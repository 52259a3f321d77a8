// The database port: the one small interface the jobs repository, the functions and the
// workers speak. Three drivers implement it (pg over TCP, Neon's WebSocket Pool for edge
// platforms, PGlite embedded); the same SQL runs on all three.
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Runs a script of several statements without parameters (migrations, test setup). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly driver: 'pg' | 'neon' | 'pglite';
  /** Runs fn in one transaction on one connection; commits on return, rolls back on throw. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * LISTEN on a channel on a dedicated session; resolves to an unsubscribe function.
   * `onLost` is called (once) when that session's connection dies on its own (server
   * restart, terminated backend), not when unsubscribed: nothing more will be delivered,
   * and the caller must listen again (lib/db/listener.ts does). Absent where a driver
   * cannot hold a session (Neon's WebSocket pool).
   */
  listen?(
    channel: string,
    onNotify: (payload: string) => void,
    onLost?: (err?: Error) => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Channel a NOTIFY (payload: the task_type) is sent on when jobs become claimable, so idle workers wake at once. */
export const JOBS_CHANNEL = 'ai_jobs_pending';
/**
 * Channel a NOTIFY is sent on when jobs reach a terminal state. Payload: the ids of the
 * jobs the statement ended, comma-separated, at most 200 per NOTIFY (several NOTIFYs for
 * larger batches; ai_jobs_notify_finished in migration 003). Liveness pings of
 * lib/db/listener.ts share the channel with the payload prefix `~ping:`.
 */
export const FINISHED_CHANNEL = 'ai_jobs_finished';
