import { describe, expect, it } from 'vitest';
import { tokenMatches } from '../../lib/http/auth.ts';

describe('tokenMatches', () => {
  it('accepts exactly the bearer token', () => {
    expect(tokenMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(tokenMatches('bearer   s3cret', 's3cret')).toBe(true);
    for (const h of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Bearer s3cre',
      'Bearer s3crett',
      'Bearer S3cret',
      'Basic s3cret',
      's3cret',
      'Bearer s3cre\u0000',
    ])
      expect(tokenMatches(h, 's3cret'), String(h)).toBe(false);
  });
});
