import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkNewPath, checkPath, isSameOrInside, parentPath } from '../../src/shared/paths.js';

describe('checkPath', () => {
  it.each([
    ['a.txt'],
    ['dir/sub/file with spaces.md'],
    ['日本語/ファイル.txt'],
    ['.ferryignore'],
    ['.ferry-notes/x'],
    ['a/.ferry'],
    ['x'.repeat(255)],
  ])('accepts %s', (p) => {
    expect(checkPath(p)).toEqual({ ok: true });
  });

  it.each([
    ['', 'empty'],
    ['/etc/passwd', 'absolute'],
    ['C:/Windows', 'drive letter'],
    ['a/../b', "'..'"],
    ['..', "'..'"],
    ['./a', "'.'"],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['a\\b', 'backslash'],
    ['a\u0000b', 'control'],
    ['a\nb', 'control'],
    ['e\u0301.txt', 'NFC'],
    ['.ferry', 'reserved'],
    ['.ferry/staging/x', 'reserved'],
    ['x'.repeat(256), 'segment'],
    [('a'.repeat(200) + '/').repeat(21) + 'a', 'longer than 4096'],
  ])('refuses %j (%s)', (p, reason) => {
    const check = checkPath(p);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toContain(reason);
  });

  it('never accepts a path that could leave the folder', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '..', '.', '', '/', '\\', 'b/c', '\u0000', 'C:'), { maxLength: 8 }), (parts) => {
        const p = parts.join('/');
        if (!checkPath(p).ok) return;
        const segments = p.split('/');
        expect(segments).not.toContain('..');
        expect(segments).not.toContain('.');
        expect(segments).not.toContain('');
        expect(p.startsWith('/')).toBe(false);
        expect(p).not.toContain('\\');
      }),
    );
  });
});

describe('checkNewPath', () => {
  it.each([['CON'], ['con.txt'], ['a/Nul'], ['COM1.tar.gz'], ['lpt¹'], ['conout$'], ['name.'], ['dir /file'], ['...']])('refuses %j', (p) => {
    expect(checkPath(p).ok).toBe(true);
    expect(checkNewPath(p).ok).toBe(false);
  });

  it.each([['console.txt'], ['com10'], ['.hidden'], [' leading'], ['a..b'], ['auxiliary/x']])('accepts %j', (p) => {
    expect(checkNewPath(p)).toEqual({ ok: true });
  });

  it('refuses everything checkPath refuses', () => {
    for (const p of ['', '../x', 'a\\b', '.ferry/x', '/abs']) expect(checkNewPath(p).ok).toBe(false);
  });
});

describe('path helpers', () => {
  it('finds parents and containment without prefix confusion', () => {
    expect(parentPath('a/b/c')).toBe('a/b');
    expect(parentPath('a')).toBe('');
    expect(isSameOrInside('a/b', 'a')).toBe(true);
    expect(isSameOrInside('a', 'a')).toBe(true);
    expect(isSameOrInside('ab/c', 'a')).toBe(false);
  });
});
