// Scripts that `npm run bench` imports as scenarios and that also run alone
// (`npx tsx bench/queues.ts …`): their command line runs only when executed directly.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** True when the module at `moduleUrl` (its import.meta.url) is the script node was started with. */
export const isMain = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === moduleUrl;
