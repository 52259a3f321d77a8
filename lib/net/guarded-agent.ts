// The undici dispatcher for guarded fetches: its connect step resolves the host through
// guardedLookup, so the socket goes to the very address the guard checked. One Agent per
// policy object (keep-alive across a worker's downloads), closed with closeGuardedAgents.
import { Agent } from 'undici';
import { guardedLookup, type UrlPolicy } from './url-guard.ts';

const agents = new Map<UrlPolicy, Agent>();

export function guardedAgent(policy: UrlPolicy): Agent {
  let agent = agents.get(policy);
  if (!agent) {
    agent = new Agent({
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: 10_000, lookup: guardedLookup(policy) as never },
    });
    agents.set(policy, agent);
  }
  return agent;
}

export async function closeGuardedAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.allSettled(all.map((a) => a.close()));
}
