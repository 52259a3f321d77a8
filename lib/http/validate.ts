// Validation at the edge of the service: bodies and query strings go through the zod
// schemas; failures become validation_error with the failing field paths.
import type { Context } from 'hono';
import type * as z from 'zod/mini';
import { AppError } from '../errors.ts';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../jobs/schemas.ts';

export type Issue = { path: string; message: string };

export function issuesOf(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): Issue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

export function validate<S extends z.ZodMiniType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new AppError('validation_error', `invalid ${what}`, { issues: issuesOf(r.error) });
  return r.data as z.infer<S>;
}

/**
 * Reads a JSON body (an empty body counts as {} only when allowEmpty). The content type
 * is not policed: `curl -d` sends form-urlencoded by default, and the body either
 * parses as JSON or is refused as invalid_json.
 */
export async function readJson(c: Context, allowEmpty = false): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') {
    if (allowEmpty) return {};
    throw new AppError('validation_error', 'request body is required', {
      issues: [{ path: '', message: 'empty body' }],
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('invalid_json', 'request body is not valid JSON');
  }
  // JSON.parse itself copes with any nesting, but everything after it (zod, stringify,
  // logging) recurses: refuse pathological depth before it reaches them. The bound
  // leaves room for the fields around `input`/`result`, whose own limit is
  // MAX_JSON_DEPTH (checked by their schema, which names the field).
  const deep = value !== null && typeof value === 'object' ? jsonTooDeep(value, BODY_DEPTH) : undefined;
  if (deep) {
    throw new AppError('validation_error', 'request body nests too deeply', {
      issues: [
        { path: deep.join('.'), message: `must nest at most ${MAX_JSON_DEPTH} levels of objects/arrays` },
      ],
    });
  }
  return value;
}

/** Nesting a whole body may have: `input`/`result` depth plus the fields around them. */
const BODY_DEPTH = MAX_JSON_DEPTH + 4;

export async function parseBody<S extends z.ZodMiniType>(
  c: Context,
  schema: S,
  allowEmpty = false,
): Promise<z.infer<S>> {
  return validate(schema, await readJson(c, allowEmpty), 'request body');
}

/**
 * Query string → plain object for a schema: keys listed in `arrays` collect repeated
 * and comma-separated values; `ints` are parsed as integers; `bools` as true/false.
 */
export function queryObject(
  c: Context,
  spec: { arrays?: readonly string[]; ints?: readonly string[]; bools?: readonly string[] } = {},
): Record<string, unknown> {
  const url = new URL(c.req.url);
  const out: Record<string, unknown> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    if (spec.arrays?.includes(key)) {
      out[key] = values
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter(Boolean);
    } else if (values.length > 1) {
      throw new AppError('validation_error', 'invalid query', {
        issues: [{ path: key, message: 'given more than once' }],
      });
    } else if (spec.ints?.includes(key)) {
      const v = values[0]!;
      out[key] = /^-?\d{1,9}$/.test(v) ? Number(v) : v;
    } else if (spec.bools?.includes(key)) {
      out[key] = values[0] === 'true' ? true : values[0] === 'false' ? false : values[0];
    } else {
      out[key] = values[0];
    }
  }
  return out;
}

export function parseQuery<S extends z.ZodMiniType>(
  c: Context,
  schema: S,
  spec?: Parameters<typeof queryObject>[1],
): z.infer<S> {
  return validate(schema, queryObject(c, spec), 'query');
}
