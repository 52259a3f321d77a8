// Opening the database at start-up, with messages a person can act on: which variable
// (DATABASE_URL), which host (never the password), what went wrong and the likely fix,
// instead of a driver's stack trace. Used by every entry point; the API exits on these,
// the worker logs one line per attempt and keeps trying (as a pod should).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Backoff } from './backoff.ts';
import { type DbTarget, DEFAULT_PGLITE_DIR, type OpenDbOptions, openDb, resolveDbTarget } from './open.ts';
import { DataDirLockedError } from './pglite-lock.ts';
import type { Db } from './port.ts';
import { describeError, errorCode } from './transient.ts';

/** DATABASE_URL without its password (and query string), for messages and logs. */
export function redactDatabaseUrl(databaseUrl: string | undefined): string {
  if (!databaseUrl) return `(unset: embedded PGlite in ${DEFAULT_PGLITE_DIR})`;
  if (databaseUrl.startsWith('pglite:')) return databaseUrl;
  try {
    const u = new URL(databaseUrl);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    // Unparsable: show only the scheme, the rest may hold a password.
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(databaseUrl)?.[0];
    return scheme ? `${scheme}…` : '(not a URL)';
  }
}

/** A database problem at start-up, explained. `permanent`: retrying cannot help (fix the setting). */
export class DatabaseStartupError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'DatabaseStartupError';
  }
}

function hostOf(databaseUrl: string): { host: string; user: string; database: string } {
  try {
    const u = new URL(databaseUrl);
    return {
      host: `${u.hostname || 'localhost'}:${u.port || '5432'}`,
      user: decodeURIComponent(u.username) || '(default user)',
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)',
    };
  } catch {
    return { host: '?', user: '?', database: '?' };
  }
}

/**
 * For an entry point that cannot run without its database: the problem explained on one
 * line of stderr after `prefix` (which process), then exit 1. Use as `.catch(...)`.
 */
export function exitOnDbError(prefix: string, databaseUrl: string | undefined): (err: unknown) => never {
  return (err) => {
    process.stderr.write(`${prefix}: ${explainDbError(err, databaseUrl).message}\n`);
    process.exit(1);
  };
}

/** Explains why the database at DATABASE_URL could not be opened or reached. */
export function explainDbError(err: unknown, databaseUrl: string | undefined): DatabaseStartupError {
  if (err instanceof DatabaseStartupError) return err;
  if (err instanceof DataDirLockedError) return new DatabaseStartupError(err.message, true, err);
  const shown = redactDatabaseUrl(databaseUrl);
  if (!databaseUrl || databaseUrl.startsWith('pglite:')) {
    return new DatabaseStartupError(
      `could not open the embedded database (DATABASE_URL=${shown}): ${describeError(err)}`,
      true,
      err,
    );
  }
  const { host, user, database } = hostOf(databaseUrl);
  const code = errorCode(err);
  const at = `PostgreSQL at ${host} (DATABASE_URL=${shown})`;
  // The driver's own words last, for searching; they never hold the password.
  const say = (what: string, fix: string, permanent = false) =>
    new DatabaseStartupError(`${what}: ${fix} (${describeError(err)})`, permanent, err);
  switch (code) {
    case 'ECONNREFUSED':
      return say(
        `cannot reach ${at}: connection refused`,
        'is PostgreSQL running and listening on that host and port? (check the host and port in DATABASE_URL)',
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return say(`cannot reach ${at}: host name not found`, 'check the host name in DATABASE_URL (or DNS)');
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return say(
        `cannot reach ${at}: no answer`,
        'check the host in DATABASE_URL, firewalls and network policies',
      );
    case '28P01':
    case '28000':
      return say(
        `${at} refused the login of user "${user}"`,
        'check the user name and password in DATABASE_URL (and pg_hba.conf)',
      );
    case '3D000':
      return say(
        `${at}: database "${database}" does not exist`,
        `create it (createdb ${database}) or fix the database name at the end of DATABASE_URL`,
      );
    case '57P03':
      return say(`${at} is starting up or shutting down`, 'it should accept connections shortly');
  }
  const msg = describeError(err);
  if (/timeout|timed out/i.test(msg)) {
    return say(
      `cannot reach ${at}: no answer in time`,
      'check the host in DATABASE_URL, firewalls and network policies',
    );
  }
  if (/SSL|TLS|certificate/i.test(msg)) {
    return say(`${at}: TLS problem (${msg})`, 'check sslmode in DATABASE_URL against what the server offers');
  }
  return new DatabaseStartupError(`cannot use ${at}: ${msg}`, false, err);
}

/**
 * Opens DATABASE_URL and proves it answers (`SELECT 1`). PGlite's first start in a new
 * directory (initdb, ~20 s) is announced through `note` before it begins.
 */
export async function openDatabase(
  databaseUrl: string | undefined,
  opts: OpenDbOptions & {
    note?: (message: string, fields?: Record<string, unknown>) => void;
    /** Prove the server answers (SELECT 1) before returning; default true. */
    verify?: boolean;
  } = {},
): Promise<Db> {
  let target: DbTarget;
  try {
    target = resolveDbTarget(databaseUrl);
  } catch (err) {
    throw new DatabaseStartupError(
      `DATABASE_URL=${redactDatabaseUrl(databaseUrl)} is not usable: ${describeError(err)}. ` +
        'Use postgres://user:password@host:5432/database, pglite:<dir>, or leave it unset for the embedded database.',
      true,
      err,
    );
  }
  const note = opts.note ?? (() => {});
  const t0 = Date.now();
  const fresh =
    target.driver === 'pglite' && target.dataDir && !existsSync(join(target.dataDir, 'PG_VERSION'));
  if (target.driver === 'pglite') {
    note(
      fresh
        ? `creating the embedded database in ${target.dataDir} (first start only; takes about 20 s)…`
        : `opening the embedded database${target.dataDir ? ` in ${target.dataDir}` : ' in memory'}…`,
    );
  }
  let db: Db | undefined;
  try {
    db = await openDb(databaseUrl, { ...opts, log: opts.log ?? ((m) => note(m)) });
    if (opts.verify !== false) await db.query('SELECT 1');
  } catch (err) {
    await db?.close().catch(() => {});
    throw explainDbError(err, databaseUrl);
  }
  if (target.driver === 'pglite') note('embedded database ready', { ms: Date.now() - t0 });
  return db;
}

/**
 * For processes that must outlive an outage (the worker): resolves once `db` answers,
 * retrying with backoff (1 s doubling to 30 s) and reporting each failed attempt, explained.
 * Resolves false if `signal` aborts first.
 */
export async function untilReachable(
  db: Db,
  databaseUrl: string | undefined,
  onAttemptFailed: (problem: DatabaseStartupError, attempt: number, retryInMs: number) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const backoff = new Backoff(1_000, 30_000);
  for (let attempt = 1; !signal?.aborted; attempt++) {
    try {
      await db.query('SELECT 1');
      return true;
    } catch (err) {
      const delay = backoff.next();
      onAttemptFailed(explainDbError(err, databaseUrl), attempt, delay);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
  }
  return false;
}
