// lib/db/pg.ts remembers the instant of recently parsed timestamptz texts: every value must
// still parse exactly as pg's own parser (postgres-date) does, into a Date of its own.
import { createRequire } from 'node:module';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import '../../lib/db/pg.ts';

// pg's own timestamptz parser (a dependency of pg, untyped).
const parseDate = createRequire(import.meta.url)('postgres-date') as (s: string) => Date | number | null;

const TEXTS = [
  '2026-11-29 21:40:28.123456+00',
  '2026-11-29 21:40:28.123999+00',
  '2026-11-29 21:40:28+00',
  '2026-11-29 23:40:28.5+02',
  '2026-11-29 21:40:28.123456-03:30',
  '0001-01-01 00:00:00+00',
  '0050-06-01 12:00:00+00',
  '0044-03-15 12:00:00+00 BC',
  '294276-12-31 23:59:59.999999+00',
  'infinity',
  '-infinity',
];

describe('timestamptz parsing (pg driver)', () => {
  it('answers what postgres-date answers, a fresh Date each time, also for a repeated text', () => {
    const parse = pg.types.getTypeParser(1184) as (s: string) => unknown;
    for (const text of [...TEXTS, ...TEXTS]) {
      const want = parseDate(text) as Date | number;
      const got = parse(text);
      if (want instanceof Date) {
        expect(got, text).toBeInstanceOf(Date);
        expect((got as Date).getTime(), text).toBe(want.getTime());
      } else expect(got, text).toBe(want);
    }
    const a = parse(TEXTS[0]!) as Date;
    const b = parse(TEXTS[0]!) as Date;
    expect(a).not.toBe(b);
    a.setTime(0);
    expect((parse(TEXTS[0]!) as Date).getTime()).toBe((parseDate(TEXTS[0]!) as Date).getTime());
  });
});
