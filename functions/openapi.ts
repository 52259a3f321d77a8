// GET /api/v1/openapi.json — the OpenAPI 3.1 document of every route. Open without the
// token (it holds no data), so the /docs page's link works in a browser. The document
// comes from functions/api-document.ts: generated at build time for the bundle, on first
// use under tsx.
import { defineFunction } from '../lib/http/define.ts';
import { openApiResponse } from '../lib/http/responses.ts';
import { apiDocumentJson } from './api-document.ts';

export default defineFunction({
  name: 'openapi',
  method: 'GET',
  path: '/api/v1/openapi.json',
  auth: false,
  access: 'open',
  db: false,
  summary: 'This OpenAPI document (open: it holds no data)',
  responses: { 200: { description: 'OpenAPI 3.1 JSON', schema: openApiResponse } },
  handler: (c) => c.body(apiDocumentJson(), 200, { 'content-type': 'application/json' }),
});
