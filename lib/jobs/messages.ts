// Error messages for validation failures. zod/mini ships no locale (that is what keeps it
// small), so without this every failure reads "Invalid input"; these say what was wrong.
import * as z from 'zod/mini';

type Issue = {
  code?: string;
  input?: unknown;
  expected?: string;
  keys?: string[];
  values?: unknown[];
  origin?: string;
  minimum?: unknown;
  maximum?: unknown;
  format?: string;
};

function message(iss: Issue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      return iss.input === undefined
        ? 'required'
        : `expected ${iss.expected === 'record' ? 'object' : iss.expected}, got ${kind(iss.input)}`;
    case 'unrecognized_keys':
      return `unknown field${iss.keys && iss.keys.length > 1 ? 's' : ''}: ${iss.keys?.join(', ')}`;
    case 'invalid_value':
      return `expected one of: ${iss.values?.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return iss.origin === 'array'
        ? `must hold at least ${iss.minimum} item(s)`
        : `must be >= ${iss.minimum}`;
    case 'too_big':
      return iss.origin === 'array'
        ? `must hold at most ${iss.maximum} item(s)`
        : `must be <= ${iss.maximum}`;
    case 'invalid_format':
      return iss.format === 'datetime'
        ? 'expected an ISO-8601 date-time with offset'
        : `expected ${iss.format} format`;
    case 'invalid_union':
      return 'matches none of the accepted forms';
    default:
      return undefined;
  }
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

z.config({ customError: (iss) => message(iss as Issue) });
