import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../../src/shared/utf8.js';

describe('utf8Length', () => {
  it('agrees with Buffer.byteLength on any string, lone surrogates included', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8Length(s) === Buffer.byteLength(s)), { numRuns: 100 });
    fc.assert(fc.property(fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)) }), (s) => utf8Length(s) === Buffer.byteLength(s)), { numRuns: 100 });
  });

  it('counts each width', () => {
    expect(['a', 'é', '€', '😀', '\ud800', 'a\udc00'].map(utf8Length)).toEqual([1, 2, 3, 4, 3, 4]);
  });
});
