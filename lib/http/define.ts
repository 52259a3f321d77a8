// The shape of one endpoint: a Web-standard Hono handler plus what the OpenAPI document
// needs to describe it. Each file in functions/ default-exports one of these; adapters
// mount them (all in the Node server, one per edge bundle).
import type { Context } from 'hono';
import type * as z from 'zod/mini';
import type { RouteAccess } from '../auth/principal.ts';
import type { Deps } from './deps.ts';

export type AppEnv = { Variables: { deps: Deps; requestId: string } };
export type Ctx = Context<AppEnv>;

export interface FunctionDef {
  /** Stable name; also the edge bundle's file name (dist/functions/<name>.mjs). */
  name: string;
  method: 'GET' | 'POST';
  /** Hono path pattern, e.g. /api/v1/jobs/:id */
  path: string;
  /** false for the open Kubernetes probes. */
  auth: boolean;
  /** Who may call it: a caller-token scope, `admin` (AI_SERVICE_TOKEN only) or `open`. */
  access?: RouteAccess;
  summary: string;
  body?: z.ZodMiniType;
  query?: z.ZodMiniType;
  /** Example request body, checked against `body` by a test. */
  example?: unknown;
  responses: Record<number, string>;
  handler: (c: Ctx) => Promise<Response> | Response;
}

export const defineFunction = (def: FunctionDef): FunctionDef => def;
