// GET /api/v1/infra/status — AI-server sidecar telemetry (GPU, containers, vLLM and
// WhisperX live metrics) from INFRA_STATUS_URL, normalised; `configured: false` when unset.
import { defineFunction } from '../../lib/http/define.ts';
import { infraStatus } from '../../lib/http/responses.ts';
import { fetchInfraStatus } from '../../lib/infra/status.ts';

export default defineFunction({
  name: 'infra-status',
  method: 'GET',
  path: '/api/v1/infra/status',
  auth: true,
  db: false,
  summary: 'AI-server sidecar telemetry (see docs/infra-sidecar.md)',
  responses: { 200: { description: 'normalised telemetry, or {"configured":false}', schema: infraStatus } },
  async handler(c) {
    const { config, fetch, clock } = c.var.deps;
    return c.json(
      await fetchInfraStatus({
        url: config.INFRA_STATUS_URL,
        token: config.INFRA_STATUS_TOKEN,
        timeoutMs: config.PROVIDER_PROBE_TIMEOUT,
        fetch,
        now: clock.now,
      }),
    );
  },
});
