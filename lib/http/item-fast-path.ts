// The common batch item checked by hand: a well-formed `{id, worker_id, lease_token,
// result}` (POST /api/v1/jobs/complete and the claim's `complete`) is accepted without
// walking completeItemSchema, whose per-item cost a 500-item request pays 500 times. The
// check accepts only what the schema accepts, with the same value out; anything else —
// a missing or extra field, a wrong type, a bound crossed, an odd object — answers
// undefined and goes through the schema, so every refusal, its outcome and its issues are
// the schema's own (test/api/item-fast-path.test.ts fuzzes both paths against each other).
import type * as z from 'zod/mini';
import {
  type completeItemSchema,
  jsonTooDeep,
  LONE_ESCAPE,
  MAX_JSON_DEPTH,
  MAX_RESULT_BYTES,
  storable,
  UUID_PATTERN,
  WORKER_ID_MAX,
} from '../jobs/schemas.ts';

type CompleteItem = z.infer<typeof completeItemSchema>;

/** A plain JSON object (what JSON.parse makes), not an array, class instance or null. */
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** The item, when completeItemSchema would accept it unchanged; otherwise undefined. */
export function fastCompleteItem(v: unknown): CompleteItem | undefined {
  if (!isPlainObject(v)) return undefined;
  let keys = 0;
  for (const _ in v) keys++;
  if (keys !== 4) return undefined;
  const { id, worker_id, lease_token, result } = v;
  if (typeof id !== 'string' || !UUID_PATTERN.test(id)) return undefined;
  if (typeof lease_token !== 'string' || !UUID_PATTERN.test(lease_token)) return undefined;
  if (typeof worker_id !== 'string' || worker_id.length === 0 || worker_id.length > WORKER_ID_MAX)
    return undefined;
  if (!storable(worker_id)) return undefined;
  // zod's record copies the object, and an own "__proto__" key does not survive the copy.
  if (!isPlainObject(result) || Object.hasOwn(result, '__proto__')) return undefined;
  if (jsonTooDeep(result, MAX_JSON_DEPTH, 0)) return undefined;
  const s = JSON.stringify(result);
  if (s.length > MAX_RESULT_BYTES || LONE_ESCAPE.test(s)) return undefined;
  return { id, worker_id, lease_token, result };
}
