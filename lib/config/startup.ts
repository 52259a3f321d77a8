// The one config-or-exit step every entry point (API, worker, npm start, migrate, reap)
// starts with: a bad configuration is a message naming each variable and what it
// expected, on stderr, and exit code 1 — never a stack trace.
import { ConfigError, loadConfig } from './load.ts';
import type { Config } from './schema.ts';

export function configOrExit(
  env: Record<string, string | undefined> = process.env,
  /** How the message is printed; reap-leases prints JSON lines. */
  format: (message: string) => string = (m) => m,
): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${format(err.message)}\n`);
    process.exit(1);
  }
}
