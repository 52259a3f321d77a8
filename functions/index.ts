// All functions including the OpenAPI document and docs page (which list the others).
import type { FunctionDef } from '../lib/http/define.ts';
import docs from './docs.ts';
import openapi from './openapi.ts';
import { ROUTES } from './routes.ts';

export const ALL_FUNCTIONS: readonly FunctionDef[] = [...ROUTES, openapi, docs];
