// GET /api/v1/tokens — every caller token, revoked ones included (admin only).
import { listTokens, tokenJson } from '../../lib/auth/tokens.ts';
import { defineFunction } from '../../lib/http/define.ts';
import * as R from '../../lib/http/responses.ts';

export default defineFunction({
  name: 'tokens-list',
  method: 'GET',
  path: '/api/v1/tokens',
  auth: true,
  access: 'admin',
  summary: 'List caller tokens (admin only; tokens themselves are never shown again)',
  responses: { 200: { description: 'every caller token (never the secret)', schema: R.tokenList } },
  async handler(c) {
    return c.json({ tokens: (await listTokens(c.var.deps.db)).map(tokenJson) });
  },
});
