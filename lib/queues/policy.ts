// The configured half of queue control (issue 11): limits, token budgets, owner weights
// and priority ceilings from the environment, in the shape the claim statement reads
// (one jsonb parameter). Run-time values in ai_queues win over these until cleared.
import type { Config } from '../config/schema.ts';

/** Groups are named `<scope>:<name>`: `model_profile:whisperx`, `task_type:transcribe`. */
export type QueueScope = 'model_profile' | 'task_type';
export const QUEUE_SCOPES: readonly QueueScope[] = ['model_profile', 'task_type'];
export const groupKey = (scope: QueueScope, name: string): string => `${scope}:${name}`;

/** What a job's token cost is estimated at when its input names no max_tokens. */
export const DEFAULT_MAX_TOKENS = 1024;

export interface QueuePolicy {
  /** Max running jobs per group key, across every worker. */
  limits: Record<string, number>;
  /** KV-cache budget in tokens per model_profile. */
  budgets: Record<string, number>;
  /** Fair-share weight per owner_service (default 1). */
  weights: Record<string, number>;
  /** Highest priority an owner_service's jobs are ordered by; `*` for everyone else. */
  ceilings: Record<string, number>;
  default_max_tokens: number;
  /**
   * 1 (default): a budgeted job reserves prompt + max_tokens. Below 1: prompt + that
   * quantile of completion_tokens / max_tokens over the profile's last 200 completed
   * answers (the worst case until 20 have completed).
   */
  token_quantile?: number;
  /**
   * The largest claim any claimer issues (default 1000: the HTTP claim schema and
   * WORKER_CLAIM_LIMIT stop there). A limit with room for one such claim per claimer in
   * flight is taken without serialising claims (migration 010); tests lower it.
   */
  max_claim?: number;
}

export const EMPTY_POLICY: QueuePolicy = {
  limits: {},
  budgets: {},
  weights: {},
  ceilings: {},
  default_max_tokens: DEFAULT_MAX_TOKENS,
};

type PolicyConfig = Pick<
  Config,
  | 'PROFILE_LIMITS'
  | 'TASK_TYPE_LIMITS'
  | 'PROFILE_TOKEN_BUDGETS'
  | 'TOKEN_ESTIMATE_QUANTILE'
  | 'OWNER_WEIGHTS'
  | 'OWNER_MAX_PRIORITY'
>;

export function queuePolicy(config: Partial<PolicyConfig>): QueuePolicy {
  const limits: Record<string, number> = {};
  for (const [name, n] of Object.entries(config.PROFILE_LIMITS ?? {}))
    limits[groupKey('model_profile', name)] = n;
  for (const [name, n] of Object.entries(config.TASK_TYPE_LIMITS ?? {}))
    limits[groupKey('task_type', name)] = n;
  return {
    limits,
    budgets: { ...config.PROFILE_TOKEN_BUDGETS },
    weights: { ...config.OWNER_WEIGHTS },
    ceilings: { ...config.OWNER_MAX_PRIORITY },
    default_max_tokens: DEFAULT_MAX_TOKENS,
    ...(config.TOKEN_ESTIMATE_QUANTILE !== undefined &&
      config.TOKEN_ESTIMATE_QUANTILE < 1 && { token_quantile: config.TOKEN_ESTIMATE_QUANTILE }),
  };
}
