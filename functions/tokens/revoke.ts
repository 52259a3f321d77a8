// POST /api/v1/tokens/{id}/revoke — a revoked token is refused at once by this process
// and within seconds by every other (lib/auth/tokens.ts caches lookups briefly).
import * as z from 'zod/mini';
import { revokeToken, tokenJson } from '../../lib/auth/tokens.ts';
import { defineFunction } from '../../lib/http/define.ts';
import * as R from '../../lib/http/responses.ts';
import { readJson, validate } from '../../lib/http/validate.ts';
import { uuid } from '../../lib/jobs/schemas.ts';

export default defineFunction({
  name: 'tokens-revoke',
  method: 'POST',
  path: '/api/v1/tokens/:id/revoke',
  auth: true,
  access: 'admin',
  summary: 'Revoke a caller token (admin only)',
  responses: { 200: { description: 'the revoked token', schema: R.tokenRecord }, 404: 'not_found' },
  async handler(c) {
    await readJson(c, true);
    const { id } = validate(z.object({ id: uuid }), { id: c.req.param('id') }, 'path');
    const row = await revokeToken(c.var.deps.db, id);
    c.var.deps.log.info(
      { request_id: c.var.requestId, token_id: row.id, name: row.name },
      'caller token revoked',
    );
    return c.json(tokenJson(row));
  },
});
