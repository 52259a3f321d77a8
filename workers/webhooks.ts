// The worker's webhook dispatcher: sends due deliveries (lib/webhooks/dispatch.ts) in a
// loop — at once again while batches come back full, otherwise every
// WEBHOOK_POLL_INTERVAL. Deliveries are rows in PostgreSQL, so a dispatcher that dies
// mid-send loses nothing: its claimed deliveries fall due again when their lock ends.
import type { Config } from '../lib/config/schema.ts';
import type { Db } from '../lib/db/port.ts';
import type { Logger } from '../lib/telemetry/port.ts';
import { deliverDue, type Send } from '../lib/webhooks/dispatch.ts';
import { describeError } from './retry.ts';

export interface WebhookDispatcher {
  stop(): Promise<void>;
  readonly delivered: number;
}

const BATCH = 50;

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

export function startWebhookDispatcher(opts: {
  db: Db;
  config: Config;
  log: Logger;
  send?: Send;
}): WebhookDispatcher {
  const send: Send = opts.send ?? ((url, init) => fetch(url, init));
  const stopping = new AbortController();
  let delivered = 0;
  let failures = 0;
  const loop = async () => {
    while (!stopping.signal.aborted) {
      let full = false;
      try {
        const s = await deliverDue(
          { db: opts.db, config: opts.config, log: opts.log, send },
          { limit: BATCH },
        );
        delivered += s.delivered;
        full = s.claimed === BATCH;
        failures = 0;
      } catch (err) {
        // The runner reports database outages; one line per outage here.
        if (failures++ === 0) opts.log.warn({ err: describeError(err) }, 'webhook dispatch failed');
      }
      if (!full) await pause(opts.config.WEBHOOK_POLL_INTERVAL, stopping.signal);
    }
  };
  const running = loop();
  return {
    get delivered() {
      return delivered;
    },
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
