// Which claim queries one pump issues. claimJobs filters by task_type ∈ T AND
// model_profile ∈ P, a cross product: claiming for an LLM handler (llm_chat × qwen) and a
// transcription handler (transcribe × whisperx) in one query would also take
// `llm_chat × whisperx` jobs that nobody here serves. So handlers are grouped by their slot
// pool and set of task types (within a group the product is exact, and one pool's limit
// bounds the whole query) and each group is one query.
// Handlers whose circuit is half-open are claimed alone with a limit of one (the probe).
import type { Handler } from './handler.ts';

export interface ClaimGroup {
  handlers: Handler[];
  taskTypes: string[];
  /** Empty = any profile (some handler in the group takes any). */
  modelProfiles: string[];
  /** Upper bound for this query regardless of free capacity (1 for a half-open probe). */
  max: number;
  /** The handlers' slot pool (Handler.pool); undefined: the worker's total only. */
  pool: string | undefined;
}

/** `allowance(h)`: Infinity (circuit closed), 1 (half-open probe) or 0 (open: skip). */
export function planClaims(handlers: readonly Handler[], allowance: (h: Handler) => number): ClaimGroup[] {
  const groups = new Map<string, ClaimGroup>();
  const probes: ClaimGroup[] = [];
  for (const h of handlers) {
    const allowed = allowance(h);
    if (allowed <= 0 || h.taskTypes.length === 0) continue;
    const taskTypes = [...new Set(h.taskTypes)].sort();
    if (allowed !== Number.POSITIVE_INFINITY) {
      probes.push({
        handlers: [h],
        taskTypes,
        modelProfiles: [...h.modelProfiles],
        max: allowed,
        pool: h.pool,
      });
      continue;
    }
    const key = `${h.pool ?? ''}\u0001${taskTypes.join('\u0000')}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, {
        handlers: [h],
        taskTypes,
        modelProfiles: [...h.modelProfiles],
        max: allowed,
        pool: h.pool,
      });
    } else {
      g.handlers.push(h);
      const any = g.modelProfiles.length === 0 || h.modelProfiles.length === 0;
      g.modelProfiles = any ? [] : [...new Set([...g.modelProfiles, ...h.modelProfiles])];
    }
  }
  return [...groups.values(), ...probes];
}

/** The handler for a claimed job: one naming its profile first, then one taking any profile. */
export function pickHandler(handlers: readonly Handler[], job: { task_type: string; model_profile: string }) {
  const typed = handlers.filter((h) => h.taskTypes.includes(job.task_type));
  return (
    typed.find((h) => h.modelProfiles.includes(job.model_profile)) ??
    typed.find((h) => h.modelProfiles.length === 0)
  );
}
