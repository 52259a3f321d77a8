// GET /api/v1/openapi.json — the OpenAPI 3.1 document of every route. Open without the
// token (it holds no data), so the /docs page's link works in a browser.
import { defineFunction } from '../lib/http/define.ts';
import { openApiDocument } from '../lib/http/openapi.ts';
import { openApiResponse } from '../lib/http/responses.ts';
import docs from './docs.ts';
import { ROUTES } from './routes.ts';

let cached: Record<string, unknown> | undefined;

/** The document, built once per process (docs.ts renders it too). */
export function apiDocument(): Record<string, unknown> {
  cached ??= openApiDocument([...ROUTES, openapi, docs]);
  return cached;
}

const openapi = defineFunction({
  name: 'openapi',
  method: 'GET',
  path: '/api/v1/openapi.json',
  auth: false,
  db: false,
  summary: 'This OpenAPI document (open: it holds no data)',
  responses: { 200: { description: 'OpenAPI 3.1 JSON', schema: openApiResponse } },
  handler: (c) => c.json(apiDocument()),
});

export default openapi;
