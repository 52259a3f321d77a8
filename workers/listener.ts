// The worker's LISTEN session on JOBS_CHANNEL (payload: a task_type), so idle workers
// claim the moment jobs arrive instead of at the next poll. The session itself
// (reconnecting with backoff when its connection dies, self-NOTIFY pings, suspect/nudge)
// is lib/db/listener.ts, shared with the API's long-poll wake-ups.
import { DbListener, type ListenerOptions, type ListenerState, PING_PREFIX } from '../lib/db/listener.ts';
import { type Db, JOBS_CHANNEL } from '../lib/db/port.ts';
import type { Logger } from '../lib/telemetry/port.ts';

export { type ListenerOptions, type ListenerState, PING_PREFIX };

export class JobsListener extends DbListener {
  constructor(db: Db, log: Logger, opts: ListenerOptions) {
    super(db, JOBS_CHANNEL, log, opts);
  }
}
