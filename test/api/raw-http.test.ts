// The Node adapter on a real socket, where clients see what fetch() hides: oversized
// bodies without Content-Length (issue 10 #14), bodies on GET/DELETE/OPTIONS, and
// request heads past Node's 16 KiB limit (#13). Every answer must be the JSON error
// envelope, and the connection must either stay usable or be closed cleanly (announced
// with `Connection: close`, ended with a FIN, never a reset).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { type ApiServer, startApi } from '../../lib/server/server.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

const LIMIT = 4096;
let t: TestDb;
let api: ApiServer;

beforeAll(async () => {
  t = await freshDb(hasServer ? 'pg' : 'pglite');
  const config = loadConfig({ LOG_LEVEL: 'silent', MAX_BODY_BYTES: String(LIMIT) });
  api = await startApi(config, t.db, silentLogger, { port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await api?.close();
  await t?.cleanup();
});

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits raw bytes into complete HTTP/1.1 responses (Content-Length or chunked bodies). */
function parseResponses(raw: Buffer): Parsed[] {
  const out: Parsed[] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return out;
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let bodyStart = end + 4;
    let body: Buffer = Buffer.alloc(0);
    if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const nl = rest.indexOf('\r\n', bodyStart);
        if (nl < 0) return out;
        const size = Number.parseInt(rest.subarray(bodyStart, nl).toString(), 16);
        parts.push(rest.subarray(nl + 2, nl + 2 + size));
        bodyStart = nl + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      const len = Number(headers['content-length'] ?? 0);
      if (rest.length < bodyStart + len) return out;
      body = rest.subarray(bodyStart, bodyStart + len);
      bodyStart += len;
    }
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: body.toString('utf8') });
    rest = rest.subarray(bodyStart);
  }
}

/**
 * Writes `data` on a fresh connection, then waits until `responses` complete responses
 * arrived and (when `untilClose`) the server ended the connection. Reports how it ended.
 */
function exchange(
  data: string | Buffer,
  responses: number,
  ms = 5000,
): Promise<{ responses: Parsed[]; ended: 'fin' | 'reset' | 'open' }> {
  return new Promise((resolve) => {
    const sock = net.connect(api.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let ended: 'fin' | 'reset' | 'open' = 'open';
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ responses: parseResponses(Buffer.concat(chunks)), ended });
    };
    const timer = setTimeout(finish, ms);
    sock.on('data', (d) => {
      chunks.push(d);
      if (ended === 'open' && parseResponses(Buffer.concat(chunks)).length >= responses) {
        // Give a closing server a moment to send its FIN, then report.
        setTimeout(finish, 150);
      }
    });
    sock.on('end', () => {
      ended = 'fin';
      finish();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      ended = e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset' : 'open';
      finish();
    });
    sock.write(data);
  });
}

const chunked = (bytes: number, piece = 1000) => {
  let s = '';
  for (let left = bytes; left > 0; left -= piece) {
    const n = Math.min(piece, left);
    s += `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`;
  }
  return `${s}0\r\n\r\n`;
};
const head = (method: string, path: string, extra = '') =>
  `${method} ${path} HTTP/1.1\r\nHost: t\r\n${extra}`;
const NEXT = 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n';

function expectEnvelope(r: Parsed | undefined, status: number, code: string) {
  expect(r, 'a response').toBeDefined();
  expect(r!.status).toBe(status);
  expect(r!.headers['content-type']).toMatch(/^application\/json/);
  expect(JSON.parse(r!.body).error.code).toBe(code);
}

/** Either the next request on the connection is answered, or the 413 said it would close. */
function expectUsableOrCleanlyClosed(got: { responses: Parsed[]; ended: string }) {
  expect(got.ended, 'the connection must not be reset').not.toBe('reset');
  if (got.responses[0]!.headers.connection?.toLowerCase() === 'close') {
    expect(got.ended).toBe('fin');
  } else {
    expect(got.responses[1]?.status, 'the next request on the same connection').toBe(200);
  }
}

describe('oversized bodies without Content-Length', () => {
  it('POST: 413 in the envelope, then the connection is usable or closed cleanly', async () => {
    const got = await exchange(
      `${head('POST', '/api/v1/jobs', 'Transfer-Encoding: chunked\r\n')}\r\n${chunked(LIMIT * 4)}${NEXT}`,
      2,
    );
    expectEnvelope(got.responses[0], 413, 'payload_too_large');
    expectUsableOrCleanlyClosed(got);
  });

  it('POST with a body far past the limit (1 MiB) still gets its 413, not a reset', async () => {
    const got = await exchange(
      `${head('POST', '/api/v1/jobs/claim', 'Transfer-Encoding: chunked\r\n')}\r\n${chunked(1 << 20, 16_384)}`,
      1,
    );
    expectEnvelope(got.responses[0], 413, 'payload_too_large');
    expect(got.ended).not.toBe('reset');
  });

  it('an oversized Content-Length is refused before the body is read, in the envelope', async () => {
    const got = await exchange(
      `${head('POST', '/api/v1/jobs', `Content-Length: ${LIMIT * 4}\r\n`)}\r\n${'x'.repeat(LIMIT * 4)}${NEXT}`,
      2,
    );
    expectEnvelope(got.responses[0], 413, 'payload_too_large');
    expectUsableOrCleanlyClosed(got);
  });

  it.each(['POST', 'GET', 'DELETE', 'OPTIONS'])(
    '%s with chunked bodies up to 1 MiB: errors in the envelope, then usable or closed',
    async (m) => {
      for (const size of [10, LIMIT * 4, 1 << 20]) {
        const got = await exchange(
          `${head(m, '/api/v1/jobs', 'Transfer-Encoding: chunked\r\n')}\r\n${chunked(size, 16_384)}${NEXT}`,
          2,
        );
        const r = got.responses[0];
        expect(r, `${m} ${size}`).toBeDefined();
        expect(r!.status, `${m} ${size}`).toBeLessThan(500);
        if (r!.status >= 400)
          expect(JSON.parse(r!.body).error.code, `${m} ${size}`).toEqual(expect.any(String));
        // GET ignores a body; the others refuse one past the limit.
        if (m !== 'GET' && size > LIMIT) expect(r!.status, `${m} ${size}`).toBe(413);
        expectUsableOrCleanlyClosed(got);
      }
    },
  );

  it('GET with a Content-Length body is answered and the connection stays usable', async () => {
    const got = await exchange(`${head('GET', '/healthz', 'Content-Length: 5\r\n')}\r\nhello${NEXT}`, 2);
    expect(got.responses[0]?.status).toBe(200);
    expectUsableOrCleanlyClosed(got);
  });
});

describe('request heads past 16 KiB', () => {
  it('431 in the envelope, and the connection closes cleanly', async () => {
    const ids = Array.from({ length: 450 }, () => crypto.randomUUID()).join(',');
    const got = await exchange(`${head('GET', `/api/v1/jobs?ids=${ids}`)}\r\n`, 1);
    expectEnvelope(got.responses[0], 431, 'headers_too_large');
    expect(got.responses[0]!.headers.connection).toBe('close');
    expect(got.ended).toBe('fin');
  });

  it('malformed requests get a 400 in the envelope', async () => {
    const got = await exchange('NOT HTTP AT ALL\r\n\r\n', 1);
    expectEnvelope(got.responses[0], 400, 'bad_request');
    expect(got.ended).toBe('fin');
  });
});
