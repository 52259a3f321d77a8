// OpenAPI 3.1 document generated from the functions' own zod schemas — request bodies
// and queries from what the handlers validate, responses from lib/http/responses.ts
// (shared as components.schemas) — so the document cannot drift from the service.
// Error statuses every route can answer are declared from what the route does:
// 401 when it needs the token, 400 when it validates a body, query or path id, 413 when
// it reads a body, 503 when it needs the database.
import * as z from 'zod/mini';
import { ERROR_STATUS } from '../errors.ts';
import type { FunctionDef, ResponseSpec } from './define.ts';
import { components, errorSchema } from './responses.ts';

const REF = (id: string) => `#/components/schemas/${id}`;

const schemaOf = (s: z.ZodMiniType, io: 'input' | 'output' = 'input') => {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  delete out.$schema;
  return out;
};

/** components.schemas: every registered response schema, cross-referenced by $ref. */
function componentSchemas(): Record<string, unknown> {
  const all = z.toJSONSchema(components, {
    io: 'output',
    unrepresentable: 'any',
    target: 'draft-2020-12',
    uri: REF,
  }) as { schemas: Record<string, Record<string, unknown>> };
  for (const s of Object.values(all.schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  return all.schemas;
}

const refTo = (s: z.ZodMiniType) => {
  const id = components.get(s)?.id;
  if (!id) throw new Error('response schemas must be registered in lib/http/responses.ts');
  return { $ref: REF(id) };
};

const ERROR_REF = refTo(errorSchema);

const errorCodesFor = (status: number) =>
  Object.entries(ERROR_STATUS)
    .filter(([, s]) => s === status)
    .map(([code]) => code)
    .join(', ');

/** Error statuses implied by what the function does, with a generic description. */
function impliedErrors(f: FunctionDef): Record<number, string> {
  const out: Record<number, string> = {};
  const validates = f.body || f.query || f.path.includes(':') || f.method === 'POST';
  if (validates) out[400] = 'validation_error or invalid_json: the body, query or path is not valid';
  if (f.auth) out[401] = 'unauthorized: missing or invalid bearer token';
  if (f.method === 'POST') out[413] = 'payload_too_large: the body exceeds MAX_BODY_BYTES';
  if (f.auth) out[503] = 'unavailable: the database is unreachable or busy; retry later';
  return out;
}

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
          // Arrays: repeated (?status=a&status=b) or comma-separated, both accepted.
          ...((schema as { type?: string }).type === 'array' ? { style: 'form', explode: true } : {}),
        });
      }
    }
    const declared: Record<number, string | ResponseSpec> = { ...impliedErrors(f), ...f.responses };
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(declared)) {
      const spec: ResponseSpec = typeof r === 'string' ? { description: r } : r;
      const isError = Number(status) >= 400;
      const type = spec.content ?? 'application/json';
      const schema = spec.schema ? refTo(spec.schema) : isError ? ERROR_REF : undefined;
      if (!schema && type === 'application/json') {
        throw new Error(`${f.name}: response ${status} needs a schema`);
      }
      const codes = isError && !spec.schema ? errorCodesFor(Number(status)) : '';
      responses[status] = {
        description:
          codes && !spec.description.includes(':') ? `${codes}: ${spec.description}` : spec.description,
        content: { [type]: { schema: schema ?? { type: 'string' } } },
      };
    }
    responses.default = {
      description: 'internal: unexpected error',
      content: { 'application/json': { schema: ERROR_REF } },
    };
    const body = f.documentedBody ?? f.body;
    paths[path] ??= {};
    paths[path][f.method.toLowerCase()] = {
      operationId: f.name,
      summary: f.summary,
      security: f.auth ? [{ bearer: [] }] : [],
      ...(params.length ? { parameters: params } : {}),
      ...(body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: schemaOf(body),
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
        'Domain-agnostic AI job service: job lifecycle and metrics. All /api/v1 routes except this document need `Authorization: Bearer <AI_SERVICE_TOKEN>` when the token is configured.',
    },
    // Relative: the document is served by the API it describes, at /api/v1/openapi.json.
    servers: [{ url: '/', description: 'the service serving this document' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: componentSchemas(),
    },
    paths,
  };
}
