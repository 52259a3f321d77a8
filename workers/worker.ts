// Assembles a worker from a Config and an open database: the runner with the built-in
// handlers (or the caller's), the lease reaper, the probe server and Prometheus metrics.
// scripts/worker.ts runs it as its own process; scripts/dev.ts runs it beside the API in
// one process on PGlite; benchmarks pass an in-process no-op handler.
import { hostname } from 'node:os';
import { workerId as configuredWorkerId } from '../lib/config/load.ts';
import type { Config } from '../lib/config/schema.ts';
import { migrate } from '../lib/db/migrations-fs.ts';
import type { Db } from '../lib/db/port.ts';
import { allowListWarning } from '../lib/net/url-guard.ts';
import { queuePolicy } from '../lib/queues/policy.ts';
import { type Logger, silentLogger } from '../lib/telemetry/port.ts';
import { createPromMetrics, type PromMetrics } from '../lib/telemetry/prom.ts';
import { POOL_VARIABLES, poolLimits } from './capacity.ts';
import type { WorkerClock } from './clock.ts';
import type { DisabledHandler, Handler } from './handler.ts';
import { providerOf } from './handler.ts';
import { builtinHandlers } from './handlers/index.ts';
import { type ProbeServer, startProbeServer } from './probe-server.ts';
import { type Reaper, startReaper } from './reaper.ts';
import { Backoff, describeError, isTransientDbError, sleep } from './retry.ts';
import { Runner, type RunnerOptions, type RunnerStatus } from './runner.ts';
import { startWebhookDispatcher, type WebhookDispatcher } from './webhooks.ts';

export interface StartWorkerOptions {
  db: Db;
  /** Replaces the built-in handlers (a benchmark's no-op, a test's fake). */
  handlers?: Handler[];
  log?: Logger;
  /** Default: a fresh prom-client registry labelled process="worker". */
  metrics?: PromMetrics;
  /** Probe server address; default WORKER_HTTP_HOST:WORKER_HTTP_PORT. false: no server. */
  probe?: false | { host?: string; port?: number };
  /** Apply migrations before claiming (retried while the database is unreachable). */
  migrate?: boolean;
  /** Run the built-in lease reaper (default true). */
  reaper?: boolean;
  /** Send due webhook deliveries (default true). */
  webhooks?: boolean;
  /** Runner tuning beyond the configuration (circuit thresholds, batching). */
  tuning?: Pick<
    RunnerOptions,
    'circuit' | 'completeDelayMs' | 'completeBatchMax' | 'notifyDebounceMs' | 'listenPingMs'
  >;
  /** The runner's time source (tests pass a manual clock). */
  clock?: WorkerClock;
}

export interface HandlerStatus {
  name: string;
  task_types: readonly string[];
  model_profiles: readonly string[];
  enabled: boolean;
  provider?: string;
  reason?: string;
}

export type WorkerStatus = RunnerStatus & {
  phase: 'starting' | 'running' | 'draining' | 'stopped';
  handlers: HandlerStatus[];
  reaper: { enabled: boolean; interval_ms: number; last_run_at: string | null };
};

export interface WorkerHandle {
  readonly workerId: string;
  /** Base URL of the probe server (when started). */
  readonly probeUrl: string | undefined;
  readonly runner: Runner;
  status(): WorkerStatus;
  /** Give database connection errors reported outside queries (the pool's 'error' events) to the worker. */
  onDbError(err: unknown): void;
  /** Drains within WORKER_SHUTDOWN_GRACE, releases what is left, stops the reaper and probe server. The db stays open. */
  stop(): Promise<void>;
}

export async function startWorker(config: Config, opts: StartWorkerOptions): Promise<WorkerHandle> {
  const { db } = opts;
  const id = configuredWorkerId(config, hostname());
  const log = (opts.log ?? silentLogger).child({ worker_id: id });
  const metrics = opts.metrics ?? createPromMetrics({ db, process: 'worker' });
  let disabled: DisabledHandler[] = [];
  let handlers = opts.handlers;
  if (!handlers) ({ handlers, disabled } = builtinHandlers(config, db));
  for (const d of disabled) log.warn({ handler: d.name, reason: d.reason }, 'handler disabled');
  if (handlers.length === 0) log.warn({}, 'no handler is enabled: this worker will claim nothing');
  const urlWarning = allowListWarning(config.AUDIO_URL_ALLOWED_HOSTS);
  if (urlWarning) log.warn({ variable: 'AUDIO_URL_ALLOWED_HOSTS' }, urlWarning);

  // Per-handler slots: LLM and transcription each get their own limit within the total,
  // so audio never waits behind text.
  const pools = poolLimits(
    config.WORKER_CLAIM_LIMIT,
    {
      llm: config.WORKER_LLM_CONCURRENCY,
      transcribe: config.WORKER_TRANSCRIBE_CONCURRENCY,
      compare: config.WORKER_COMPARE_CONCURRENCY,
    },
    new Set(handlers.flatMap((h) => (h.pool ? [h.pool] : []))),
  );
  if (pools.overcommitted) {
    log.warn(
      { claim_limit: config.WORKER_CLAIM_LIMIT, ...pools.limits },
      `${Object.values(POOL_VARIABLES).join(' + ')} exceed WORKER_CLAIM_LIMIT: one kind of job filling the worker can delay the other`,
    );
  }

  const runner = new Runner({
    db,
    workerId: id,
    handlers,
    claimLimit: config.WORKER_CLAIM_LIMIT,
    poolLimits: pools.limits,
    pollIntervalMs: config.WORKER_POLL_INTERVAL,
    leaseMs: config.WORKER_LEASE_TIMEOUT,
    policy: queuePolicy(config),
    log,
    metrics,
    ...opts.tuning,
    ...(opts.clock && { clock: opts.clock }),
  });

  let phase: WorkerStatus['phase'] = 'starting';
  let reaper: Reaper | undefined;
  let webhooks: WebhookDispatcher | undefined;
  const handlerStatus: HandlerStatus[] = [
    ...handlers.map((h) => ({
      name: h.name,
      task_types: h.taskTypes,
      model_profiles: h.modelProfiles,
      enabled: true,
      provider: providerOf(h),
    })),
    ...disabled.map((d) => ({
      name: d.name,
      task_types: d.taskTypes,
      model_profiles: d.modelProfiles,
      enabled: false,
      reason: d.reason,
    })),
  ];
  const status = (): WorkerStatus => ({
    ...runner.status(),
    phase,
    handlers: handlerStatus,
    reaper: {
      enabled: opts.reaper !== false,
      interval_ms: config.WORKER_REAP_INTERVAL,
      last_run_at: reaper?.lastRunAt ?? null,
    },
  });

  let probe: ProbeServer | undefined;
  if (opts.probe !== false) {
    probe = await startProbeServer({
      db,
      status,
      metrics,
      host: opts.probe?.host ?? config.WORKER_HTTP_HOST,
      port: opts.probe?.port ?? config.WORKER_HTTP_PORT,
    });
    log.info({ url: probe.url }, 'probe server listening');
  }

  // Started in the background so probes answer (not ready) while the database is still down.
  let stopping = false;
  const started = (async () => {
    if (opts.migrate) {
      const applied = await migrateWithRetry(db, log, runner, () => stopping);
      if (applied === null) return;
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
    }
    if (stopping) return;
    await runner.start();
    if (opts.reaper !== false) {
      reaper = startReaper({
        db,
        intervalMs: config.WORKER_REAP_INTERVAL,
        retentionMs: config.JOB_RETENTION,
        log,
        metrics,
      });
    }
    if (opts.webhooks !== false) webhooks = startWebhookDispatcher({ db, config, log });
    phase = 'running';
    log.info(
      {
        handlers: handlers.map((h) => h.name),
        claim_limit: config.WORKER_CLAIM_LIMIT,
        slots: pools.limits,
        lease_ms: config.WORKER_LEASE_TIMEOUT,
      },
      'worker started',
    );
  })();

  let stopped: Promise<void> | undefined;
  return {
    workerId: id,
    probeUrl: probe?.url,
    runner,
    status,
    onDbError: (err) => runner.connectionLost(err),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        phase = 'draining';
        await started;
        const r = await runner.drain(config.WORKER_SHUTDOWN_GRACE);
        await reaper?.stop();
        await webhooks?.stop();
        await probe?.close();
        phase = 'stopped';
        log.info(r, 'worker stopped');
      })();
      return stopped;
    },
  };
}

/** Applies migrations, retrying while the database is unreachable; null when stopped first. */
async function migrateWithRetry(
  db: Db,
  log: Logger,
  runner: Runner,
  stopping: () => boolean,
): Promise<string[] | null> {
  const backoff = new Backoff(500, 10_000);
  for (;;) {
    try {
      return await migrate(db);
    } catch (err) {
      // A broken migration will not fix itself, but crashing would only restart-loop the pod;
      // keep retrying and let /readyz and the log say why.
      const delay = backoff.next();
      runner.reportDbError(err, 'migrate');
      const fields = { err: describeError(err), transient: isTransientDbError(err), retry_in_ms: delay };
      // An unreachable database is already said once by the runner and, by scripts/worker.ts,
      // once per attempt with the fix; a migration failing on a reachable one is an error.
      if (fields.transient) log.debug(fields, 'migration failed; retrying');
      else log.error(fields, 'migration failed; retrying');
      const until = Date.now() + delay;
      while (Date.now() < until) {
        if (stopping()) return null;
        await sleep(Math.min(200, until - Date.now()));
      }
    }
  }
}
