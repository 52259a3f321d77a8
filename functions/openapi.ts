// GET /api/v1/openapi.json — the OpenAPI 3.1 document of every route.
import { defineFunction } from '../lib/http/define.ts';
import { openApiDocument } from '../lib/http/openapi.ts';
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
  auth: true,
  db: false,
  summary: 'This OpenAPI document',
  responses: { 200: 'OpenAPI 3.1 JSON' },
  handler: (c) => c.json(apiDocument()),
});

export default openapi;
