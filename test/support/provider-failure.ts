// Awaits a call that must fail with a ProviderError and returns the error for inspection.
import { expect } from 'vitest';
import { ProviderError } from '../../lib/providers/errors.ts';

export async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ProviderError);
    return e as ProviderError;
  }
  throw new Error('expected a ProviderError');
}
