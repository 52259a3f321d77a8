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

export type Notification = { channel: string; payload: string };

export interface Db extends Queryable {
  readonly driver: 'pg' | 'neon' | 'pglite';
  /** Runs fn in one transaction on one connection; commits on return, rolls back on throw. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; resolves to an unsubscribe function. Absent where a driver cannot hold a session. */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Channel a NOTIFY is sent on when jobs become claimable, so idle workers wake at once. */
export const JOBS_CHANNEL = 'ai_jobs_pending';
/** Channel a NOTIFY (payload: job id) is sent on when a job reaches a terminal state. */
export const FINISHED_CHANNEL = 'ai_jobs_finished';
