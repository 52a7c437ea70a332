import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/server/auth/rate-limit.js';
import { hashPassword, hashToken, newDeviceToken, verifyPassword } from '../../src/server/auth/secrets.js';
import { VERSION } from '../../src/shared/version.js';

describe('secrets', () => {
  it('makes distinct 256-bit tokens and stores only their hash', () => {
    const a = newDeviceToken();
    const b = newDeviceToken();
    expect(a).not.toBe(b);
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32);
    expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(a)).not.toContain(a.slice(4));
  });

  it('verifies scrypt password hashes, salted', async () => {
    const h1 = await hashPassword('correct horse');
    const h2 = await hashPassword('correct horse');
    expect(h1).not.toBe(h2);
    expect(await verifyPassword('correct horse', h1)).toBe(true);
    expect(await verifyPassword('correct horsf', h1)).toBe(false);
    expect(await verifyPassword('anything', 'garbage')).toBe(false);
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then makes the caller wait, then refills', () => {
    const limiter = new RateLimiter(3, 6);
    const t = 1_000_000;
    expect([limiter.take('k', t), limiter.take('k', t), limiter.take('k', t)]).toEqual([0, 0, 0]);
    expect(limiter.take('k', t)).toBe(10);
    expect(limiter.take('other', t)).toBe(0);
    expect(limiter.take('k', t + 10_000)).toBe(0);
    limiter.reset('k');
    expect(limiter.take('k', t + 10_000)).toBe(0);
  });

  it('forgets the oldest keys instead of growing without bound', () => {
    const limiter = new RateLimiter(1, 1, 2);
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('c', 0);
    expect(limiter.take('a', 0)).toBe(0);
  });
});

describe('version', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
