// Which claim queries a pump issues, and which handler gets a claimed job.
import { describe, expect, it } from 'vitest';
import { pickHandler, planClaims } from '../../workers/claim-plan.ts';
import type { Handler } from '../../workers/handler.ts';

const h = (name: string, taskTypes: string[], modelProfiles: string[]): Handler => ({
  name,
  taskTypes,
  modelProfiles,
  run: async () => ({}),
});

describe('claim plan', () => {
  const llm = h('llm', ['llm_chat', 'call_analysis'], ['qwen']);
  const chain = h('transcribe', ['transcribe'], ['whisperx']);
  const voxtral = h('transcribe:voxtral', ['transcribe'], ['voxtral-small']);

  it('groups handlers by task types so the type × profile filter is exact', () => {
    const plan = planClaims([llm, chain, voxtral], () => Number.POSITIVE_INFINITY);
    expect(plan.map((g) => [g.taskTypes, g.modelProfiles, g.handlers.map((x) => x.name)])).toEqual([
      [['call_analysis', 'llm_chat'], ['qwen'], ['llm']],
      [['transcribe'], ['whisperx', 'voxtral-small'], ['transcribe', 'transcribe:voxtral']],
    ]);
  });

  it('skips open circuits and claims half-open ones alone, one job at a time', () => {
    const allowance = (x: Handler) => (x === llm ? 0 : x === voxtral ? 1 : Number.POSITIVE_INFINITY);
    const plan = planClaims([llm, chain, voxtral], allowance);
    expect(plan.map((g) => [g.handlers.map((x) => x.name), g.modelProfiles, g.max])).toEqual([
      [['transcribe'], ['whisperx'], Number.POSITIVE_INFINITY],
      [['transcribe:voxtral'], ['voxtral-small'], 1],
    ]);
  });

  it('a handler taking any profile widens its group; exact profiles win when dispatching', () => {
    const any = h('any', ['transcribe'], []);
    const [group] = planClaims([chain, any], () => Number.POSITIVE_INFINITY);
    expect(group!.modelProfiles).toEqual([]);
    expect(pickHandler(group!.handlers, { task_type: 'transcribe', model_profile: 'whisperx' })).toBe(chain);
    expect(pickHandler(group!.handlers, { task_type: 'transcribe', model_profile: 'other' })).toBe(any);
    expect(pickHandler([llm], { task_type: 'transcribe', model_profile: 'qwen' })).toBeUndefined();
  });
});
