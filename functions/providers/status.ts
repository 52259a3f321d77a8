// GET /api/v1/providers/status — probes each configured AI provider in parallel with a
// short timeout. Never returns a key or URL credentials (the probe strips them).
import { AppError } from '../../lib/errors.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { providersStatus } from '../../lib/http/responses.ts';

export default defineFunction({
  name: 'providers-status',
  method: 'GET',
  path: '/api/v1/providers/status',
  auth: true,
  db: false,
  summary: 'Check configured AI providers (LLM, WhisperX, Qwen2-Audio, Voxtral)',
  responses: { 200: { description: 'each provider, probed', schema: providersStatus } },
  async handler(c) {
    const probe = c.var.deps.probeProviders;
    if (!probe) throw new AppError('not_configured', 'provider probes are not available in this deployment');
    return c.json({ providers: await probe() });
  },
});
