// POST /api/v1/tokens — create a caller token (admin only). The token is in this answer
// and nowhere else: only its hash is stored.
import { createTokenSchema } from '../../lib/auth/schemas.ts';
import { createToken, tokenJson } from '../../lib/auth/tokens.ts';
import { defineFunction } from '../../lib/http/define.ts';
import * as R from '../../lib/http/responses.ts';
import { parseBody } from '../../lib/http/validate.ts';

export default defineFunction({
  name: 'tokens-create',
  method: 'POST',
  path: '/api/v1/tokens',
  auth: true,
  access: 'admin',
  summary: 'Create a caller token bound to owner_services and scopes (admin only; shown once)',
  body: createTokenSchema,
  example: { name: 'telephony-prod', owner_services: ['telephony'], scopes: ['jobs:read', 'jobs:write'] },
  responses: {
    201: { description: 'the token (shown once) and its record', schema: R.createdToken },
    409: 'a token with that name exists',
  },
  async handler(c) {
    const body = await parseBody(c, createTokenSchema);
    const { token, row } = await createToken(c.var.deps.db, {
      ...body,
      owner_services: body.owner_services ?? [],
    });
    c.var.deps.log.info(
      { request_id: c.var.requestId, token_id: row.id, name: row.name },
      'caller token created',
    );
    return c.json({ token, ...tokenJson(row) }, 201);
  },
});
