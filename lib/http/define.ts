// The shape of one endpoint: a Web-standard Hono handler plus what the OpenAPI document
// needs to describe it. Each file in functions/ default-exports one of these; adapters
// mount them (all in the Node server, one per edge bundle).
import type { Context } from 'hono';
import type * as z from 'zod/mini';
import type { RouteAccess } from '../auth/principal.ts';
import type { Deps } from './deps.ts';

export type AppEnv = { Variables: { deps: Deps; requestId: string } };
export type Ctx = Context<AppEnv>;

/**
 * One declared answer. `schema` must be registered in lib/http/responses.ts (the
 * document refers to it by name); error statuses default to the Error schema, and 401,
 * 400, 413 and 503 are added by lib/http/openapi.ts where they apply. `content` is the
 * media type (application/json unless said otherwise).
 */
export interface ResponseSpec {
  description: string;
  schema?: z.ZodMiniType;
  content?: string;
}

export interface FunctionDef {
  /** Stable name; also the edge bundle's file name (dist/functions/<name>.mjs). */
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  /** Hono path pattern, e.g. /api/v1/jobs/:id */
  path: string;
  /** false for the open Kubernetes probes. */
  auth: boolean;
  /** false: never queries the database, so its edge bundle carries no driver and needs no DATABASE_URL. */
  db?: false;
  /** Who may call it: a caller-token scope, `admin` (AI_SERVICE_TOKEN only) or `open`. */
  access?: RouteAccess;
  summary: string;
  body?: z.ZodMiniType;
  query?: z.ZodMiniType;
  /** Example request body, checked against `body` by a test. */
  example?: unknown;
  /** Answers by status: a description (errors) or a ResponseSpec with its schema. */
  responses: Record<number, string | ResponseSpec>;
  /** The body as documented, when stricter than `body` (e.g. batch items, checked one by one). */
  documentedBody?: z.ZodMiniType;
  handler: (c: Ctx) => Promise<Response> | Response;
}

export const defineFunction = (def: FunctionDef): FunctionDef => def;
