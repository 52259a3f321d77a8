// OpenAPI 3.1 document generated from the functions' own zod schemas, so the document
// cannot drift from what the handlers validate.
import * as z from 'zod/mini';
import type { FunctionDef } from './define.ts';

const schemaOf = (s: z.ZodMiniType) =>
  z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

export function openApiDocument(functions: readonly FunctionDef[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const f of functions) {
    const path = f.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params: unknown[] = [...f.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string', format: 'uuid' },
    }));
    if (f.query) {
      const q = schemaOf(f.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        params.push({
          name,
          in: 'query',
          required: q.required?.includes(name) ?? false,
          schema,
          explode: true,
        });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(f.responses)) {
      responses[status] =
        Number(status) >= 400
          ? { description, content: { 'application/json': { schema: ERROR_SCHEMA } } }
          : { description, content: { 'application/json': { schema: {} } } };
    }
    responses.default = { description: 'error', content: { 'application/json': { schema: ERROR_SCHEMA } } };
    paths[path] ??= {};
    paths[path][f.method.toLowerCase()] = {
      operationId: f.name,
      summary: f.summary,
      security: f.auth ? [{ bearer: [] }] : [],
      parameters: params,
      ...(f.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: schemaOf(f.body),
                  ...(f.example === undefined ? {} : { example: f.example }),
                },
              },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'AI Service',
      version: '1',
      description:
        'Domain-agnostic AI job service: job lifecycle and metrics. All /api/v1 routes need `Authorization: Bearer <AI_SERVICE_TOKEN>` when the token is configured.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
