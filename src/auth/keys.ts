import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh SAS or admin key: 32 random bytes in base64, the shape Azure's keys have (44 characters). */
export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * Compares two secrets in time independent of where they differ. Hashing first gives equal-length
 * inputs, so the length of the expected secret does not leak either.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
