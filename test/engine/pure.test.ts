/**
 * The engine's small pure helpers: conflict copy names, names Windows can't hold, ignore
 * rules, the bandwidth throttle and the transfer progress arithmetic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Throttle } from '../../src/engine/net/throttle.js';
import { DEFAULT_IGNORES, IGNORE_FILE, IgnoreRules } from '../../src/engine/scan/ignore-rules.js';
import { conflictName, isConflictCopy } from '../../src/engine/sync/conflict-name.js';
import { caseKey, foldsCase, portabilityProblem } from '../../src/engine/sync/portability.js';
import { Progress } from '../../src/engine/sync/progress.js';
import { checkPath, parentPath } from '../../src/shared/paths.js';

// Local time on purpose: the name shows the time as the user's clock reads it.
const WHEN = new Date(2026, 10, 23, 15, 45, 0);
const never = () => false;

describe('conflictName', () => {
  it('puts device and time before the extension', () => {
    expect(conflictName('report.txt', 'laptop', WHEN, never)).toBe('report (conflict from laptop 2026-11-23 154500).txt');
  });

  it('pads the stamp', () => {
    expect(conflictName('a.md', 'pc', new Date(2027, 0, 2, 3, 4, 5), never)).toBe('a (conflict from pc 2027-01-02 030405).md');
  });

  it('treats a leading dot as part of the name, and a name without a dot as having no extension', () => {
    expect(conflictName('.bashrc', 'laptop', WHEN, never)).toBe('.bashrc (conflict from laptop 2026-11-23 154500)');
    expect(conflictName('.config.json', 'laptop', WHEN, never)).toBe('.config (conflict from laptop 2026-11-23 154500).json');
    expect(conflictName('Makefile', 'laptop', WHEN, never)).toBe('Makefile (conflict from laptop 2026-11-23 154500)');
    expect(conflictName('archive.tar.gz', 'laptop', WHEN, never)).toBe('archive.tar (conflict from laptop 2026-11-23 154500).gz');
  });

  it('stays in the same directory; a dot in a directory name is not an extension', () => {
    expect(conflictName('docs/q3/report.txt', 'laptop', WHEN, never)).toBe('docs/q3/report (conflict from laptop 2026-11-23 154500).txt');
    expect(conflictName('v1.2/notes', 'laptop', WHEN, never)).toBe('v1.2/notes (conflict from laptop 2026-11-23 154500)');
    expect(conflictName('v1.2/.env', 'laptop', WHEN, never)).toBe('v1.2/.env (conflict from laptop 2026-11-23 154500)');
  });

  it('numbers the copy when the name is taken', () => {
    const taken = new Set(['report (conflict from laptop 2026-11-23 154500).txt']);
    expect(conflictName('report.txt', 'laptop', WHEN, (p) => taken.has(p))).toBe('report (conflict from laptop 2026-11-23 154500 2).txt');
    taken.add('report (conflict from laptop 2026-11-23 154500 2).txt');
    expect(conflictName('report.txt', 'laptop', WHEN, (p) => taken.has(p))).toBe('report (conflict from laptop 2026-11-23 154500 3).txt');
    const nested = new Set(['d/x (conflict from laptop 2026-11-23 154500)']);
    expect(conflictName('d/x', 'laptop', WHEN, (p) => nested.has(p))).toBe('d/x (conflict from laptop 2026-11-23 154500 2)');
  });

  it('sanitizes device names: no slashes or other characters a name cannot hold, at most 64 characters', () => {
    expect(conflictName('a.txt', 'work/pc', WHEN, never)).toBe('a (conflict from work_pc 2026-11-23 154500).txt');
    expect(conflictName('a.txt', 'C:\\box', WHEN, never)).toBe('a (conflict from C__box 2026-11-23 154500).txt');
    expect(conflictName('a.txt', 'a*b?c"d<e>f|g', WHEN, never)).toBe('a (conflict from a_b_c_d_e_f_g 2026-11-23 154500).txt');
    expect(conflictName('a.txt', 'tab\there\nnl', WHEN, never)).toBe('a (conflict from tab_here_nl 2026-11-23 154500).txt');
    const long = conflictName('a.txt', 'x'.repeat(200), WHEN, never);
    expect(long).toBe(`a (conflict from ${'x'.repeat(64)} 2026-11-23 154500).txt`);
  });

  // The copy is committed like any new file, so it must be a path the protocol accepts
  // (src/shared/paths.ts) and one the disk can hold (the local file is renamed to it).
  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const expectUsable = (copy: string) => {
    expect(checkPath(copy).ok, `${JSON.stringify(copy)}: ${JSON.stringify(checkPath(copy))}`).toBe(true);
    expect(LONE_SURROGATE.test(copy), `${JSON.stringify(copy)} has half a character`).toBe(false);
  };

  it('keeps a long name within 255 bytes, so the local file can be renamed to it', () => {
    // A 240-byte name is a valid path; its copy must be one too (else the rename fails
    // with ENAMETOOLONG and the conflict can never be resolved).
    const copy = conflictName(`${'x'.repeat(236)}.txt`, 'laptop', WHEN, never);
    expectUsable(copy);
    expect(isConflictCopy(copy)).toBe(true);
    expect(copy.endsWith('.txt')).toBe(true);
    expectUsable(conflictName(`docs/${'é'.repeat(125)}.md`, 'laptop', WHEN, never));
  });

  it('makes a valid path from any device name the server allows (1 to 128 characters)', () => {
    expectUsable(conflictName('a.txt', 'Jose\u0301', WHEN, never)); // decomposed é (NFD), as macOS may give it
    expectUsable(conflictName('a.txt', 'pc\u007f', WHEN, never)); // DEL is a control character too
    expectUsable(conflictName('a.txt', `${'x'.repeat(63)}📱`, WHEN, never)); // 64 code units would split the emoji
  });

  it('for any valid path and device: a valid path beside the original, recognized as a conflict copy, not taken', () => {
    const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 });
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    const device = fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }).filter((d) => d.trim().length > 0);
    fc.assert(
      fc.property(path, device, fc.array(fc.boolean(), { maxLength: 3 }), (p, d, takenRun) => {
        fc.pre(checkPath(p).ok);
        let asked = 0;
        const copy = conflictName(p, d, WHEN, () => takenRun[asked++] ?? false);
        expect(copy).not.toBe(p);
        expect(parentPath(copy)).toBe(parentPath(p));
        expectUsable(copy);
        expect(isConflictCopy(copy)).toBe(true);
        expect(isConflictCopy(p)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('isConflictCopy', () => {
  it('recognizes the names conflictName makes, and only those', () => {
    for (const p of [
      'report (conflict from laptop 2026-11-23 154500).txt',
      'report (conflict from laptop 2026-11-23 154500 2).txt',
      'docs/q3/report (conflict from my pc 2026-11-23 154500).txt',
      '.bashrc (conflict from laptop 2026-11-23 154500)',
      'Makefile (conflict from laptop 2026-11-23 154500 12)',
    ]) {
      expect(isConflictCopy(p), p).toBe(true);
    }
    for (const p of [
      'report.txt',
      'report (conflict).txt',
      'notes (conflict from me yesterday).txt',
      'report (conflict from laptop 2026-11-23 1545).txt',
      'report (conflict from laptop 2026-11-23 154500).txt/inside.txt',
      'report (conflict from laptop 2026-11-23 154500).tar.gz',
    ]) {
      expect(isConflictCopy(p), p).toBe(false);
    }
  });
});

describe('portabilityProblem', () => {
  it('rejects Windows reserved device names, in any case, with or without an extension, at any depth', () => {
    for (const p of ['CON', 'con', 'con.txt', 'Con.tar.gz', 'aux', 'AUX.h', 'PRN', 'nul', 'NUL.log', 'COM1', 'com9.txt', 'LPT1', 'lpt3.doc', 'COM¹', 'docs/con/readme.md', 'a/b/aux']) {
      expect(portabilityProblem(p, 'win32'), p).toMatch(/reserved/);
    }
  });

  it('accepts names that only start like reserved ones', () => {
    for (const p of ['console.txt', 'con_', 'auxiliary', 'com10', 'lpt', 'nullable.js', 'prn2.txt', 'acon']) {
      expect(portabilityProblem(p, 'win32'), p).toBeUndefined();
    }
  });

  it('rejects the characters < > : " | ? * anywhere in a segment', () => {
    for (const ch of ['<', '>', ':', '"', '|', '?', '*']) {
      expect(portabilityProblem(`a${ch}b.txt`, 'win32'), ch).toMatch(/character/);
      expect(portabilityProblem(`dir${ch}/b.txt`, 'win32'), ch).toMatch(/character/);
    }
  });

  it('rejects a segment ending in a dot or a space', () => {
    for (const p of ['name.', 'name ', 'dir./file', 'dir /file', 'a/b.']) {
      expect(portabilityProblem(p, 'win32'), p).toMatch(/dot or space/);
    }
    expect(portabilityProblem('.hidden', 'win32')).toBeUndefined();
    expect(portabilityProblem(' leading space', 'win32')).toBeUndefined();
  });

  it('rejects over-long paths on Windows', () => {
    expect(portabilityProblem(`${'d'.repeat(200)}/${'f'.repeat(58)}`, 'win32')).toBeUndefined(); // 259 characters
    expect(portabilityProblem(`${'d'.repeat(200)}/${'f'.repeat(59)}`, 'win32')).toMatch(/too long/);
  });

  it('accepts all of these on Linux and macOS', () => {
    for (const p of ['CON', 'con.txt', 'aux', 'COM1', 'a<b', 'a:b', 'a"b', 'a|b', 'a?b', 'a*b', 'name.', 'name ', 'x'.repeat(300)]) {
      expect(portabilityProblem(p, 'linux'), p).toBeUndefined();
      expect(portabilityProblem(p, 'darwin'), p).toBeUndefined();
    }
  });

  it('knows which systems fold case, and folds NFC and case together', () => {
    expect(foldsCase('linux')).toBe(false);
    expect(foldsCase('darwin')).toBe(true);
    expect(foldsCase('win32')).toBe(true);
    expect(caseKey('Docs/Report.TXT')).toBe(caseKey('docs/report.txt'));
    expect(caseKey('Cafe\u0301')).toBe(caseKey('café'));
  });
});

describe('IgnoreRules', () => {
  const rules = new IgnoreRules();

  it('ignores editor and OS litter by default, at any depth', () => {
    for (const p of [
      '.DS_Store',
      'photos/.DS_Store',
      'Thumbs.db',
      'a/b/Thumbs.db',
      'ehthumbs.db',
      'desktop.ini',
      '~$report.docx',
      'docs/~$x.docx',
      '.~lock.report.odt#',
      'sheets/.~lock.x#',
      'notes.swp',
      'src/.main.c.swp',
      'file.swo',
      'backup~',
      '.#draft.txt',
      '._resource',
      '.Spotlight-V100',
      '.Trashes',
      '.fseventsd',
    ]) {
      expect(rules.ignores(p, false), p).toBe(true);
    }
    for (const [p, isDir] of [
      ['$RECYCLE.BIN', true],
      ['$RECYCLE.BIN/file', false],
      ['System Volume Information', true],
      ['.Trash-1000', true],
      ['.Trash-1000/files/a', false],
    ] as const) {
      expect(rules.ignores(p, isDir), p).toBe(true);
    }
  });

  it('does not ignore ordinary files that merely look similar', () => {
    for (const p of ['report.docx', 'notes.txt', 'swp', 'a.swpx', 'DS_Store', 'lock.x#', 'x.~lock', 'thumbs.db.bak', 'ferry', '.ferryx', 'sub/.ferryignore']) {
      expect(rules.ignores(p, false), p).toBe(false);
    }
    // Directory-only defaults do not catch a file of that name.
    expect(rules.ignores('$RECYCLE.BIN', false)).toBe(false);
  });

  it('always ignores the engine folder .ferry/, whatever .ferryignore says', () => {
    for (const r of [rules, new IgnoreRules('!.ferry\n!.ferry/**\n')]) {
      expect(r.ignores('.ferry', true)).toBe(true);
      expect(r.ignores('.ferry/staging/abc', false)).toBe(true);
      expect(r.ignores('.ferry/x', true)).toBe(true);
    }
  });

  it('applies .ferryignore patterns with gitignore syntax: globs, dir/ patterns, anchors, negation, comments', () => {
    const r = new IgnoreRules(['# build output', '*.log', '!keep.log', 'build/', '/root-only.txt', 'cache/**/*.tmp', '', 'secret*'].join('\n'));
    expect(r.ignores('a.log', false)).toBe(true);
    expect(r.ignores('deep/dir/b.log', false)).toBe(true);
    expect(r.ignores('keep.log', false)).toBe(false);
    expect(r.ignores('build', true)).toBe(true);
    expect(r.ignores('build/out.js', false)).toBe(true);
    expect(r.ignores('src/build', true)).toBe(true);
    expect(r.ignores('build', false)).toBe(false); // a file named build is not the directory
    expect(r.ignores('root-only.txt', false)).toBe(true);
    expect(r.ignores('sub/root-only.txt', false)).toBe(false);
    expect(r.ignores('cache/a/b/c.tmp', false)).toBe(true);
    expect(r.ignores('cache/a/b/c.txt', false)).toBe(false);
    expect(r.ignores('secrets.env', false)).toBe(true);
    expect(r.ignores('# build output', false)).toBe(false);
    expect(r.ignores('src/main.ts', false)).toBe(false);
  });

  it('lets .ferryignore bring back a default', () => {
    const r = new IgnoreRules('!Thumbs.db\n');
    expect(r.ignores('Thumbs.db', false)).toBe(false);
    expect(r.ignores('.DS_Store', false)).toBe(true);
  });

  it('never ignores .ferryignore itself, so every device shares the rules', () => {
    expect(IGNORE_FILE).toBe('.ferryignore');
    for (const text of ['', '.ferryignore\n', '.*\n', '*\n', '/.ferryignore\n']) {
      expect(new IgnoreRules(text).ignores('.ferryignore', false), text).toBe(false);
    }
    // '*' ignores everything else.
    expect(new IgnoreRules('*\n').ignores('a.txt', false)).toBe(true);
  });

  it('has the defaults the design names', () => {
    for (const p of ['.DS_Store', 'Thumbs.db', 'desktop.ini', '~$*', '.~lock.*#', '*.swp']) expect(DEFAULT_IGNORES).toContain(p);
  });
});

describe('Throttle', () => {
  it('with no limit, take() resolves at once (before any timer could fire)', async () => {
    const t = new Throttle();
    expect(t.limit).toBeNull();
    let done = false;
    void t.take(1 << 30).then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(true);
  });

  it('treats 0, negative and null rates as no limit', () => {
    const t = new Throttle();
    for (const r of [0, -5, null]) {
      t.setRate(r);
      expect(t.limit).toBeNull();
    }
    t.setRate(1000);
    expect(t.limit).toBe(1000);
  });

  it('at 50 KiB/s, 100 KiB takes at least a second (and not forever)', async () => {
    const t = new Throttle();
    const started = Date.now();
    t.setRate(50 * 1024);
    await t.take(100 * 1024);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(5000);
  });

  it('at 50 KiB/s, a single take of 150 KiB (3× the rate) waits at least ~2 s: the limit holds for large takes too', async () => {
    // take(n) "waits until n bytes may pass". With at most a second's worth saved up, 3× the
    // rate can pass no sooner than after 2 s; the engine takes whole chunks (up to 4 MiB) at once.
    const t = new Throttle();
    const started = Date.now();
    t.setRate(50 * 1024);
    await t.take(150 * 1024);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1950);
    expect(took).toBeLessThan(6000);
  });

  it('lifting the limit lets a take that is sleeping off a large debt go on at once', async () => {
    const t = new Throttle();
    t.setRate(1024);
    let done = false;
    // 4 MiB at 1 KiB/s would sleep for over an hour.
    const taking = t.take(4 * 1024 * 1024).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    t.setRate(null);
    await taking;
    expect(done).toBe(true);
  });
});

describe('Progress', () => {
  it('starts, counts and finishes transfers, telling the listener each time', () => {
    let changes = 0;
    const p = new Progress(() => changes++);
    const up = p.start(1, 'a.txt', 'up', 1000);
    const down = p.start(2, 'b.bin', 'down', 4000);
    expect(up).not.toBe(down);
    expect(changes).toBe(2);
    p.add(up, 250);
    p.add(down, 1000);
    expect(changes).toBe(4);
    const s = p.snapshot();
    expect(s.items.map((i) => [i.id, i.folder, i.path, i.direction, i.bytesDone, i.bytesTotal])).toEqual([
      [up, 1, 'a.txt', 'up', 250, 1000],
      [down, 2, 'b.bin', 'down', 1000, 4000],
    ]);
    expect(s.bytesDone).toBe(1250);
    expect(s.bytesTotal).toBe(5000);
    p.finish(up);
    expect(changes).toBe(5);
    expect(p.snapshot().items.map((i) => i.id)).toEqual([down]);
  });

  it('ignores unknown ids without telling anyone', () => {
    let changes = 0;
    const p = new Progress(() => changes++);
    p.add('up-99', 10);
    p.finish('up-99');
    expect(changes).toBe(0);
    expect(p.snapshot()).toEqual({ items: [], bytesDone: 0, bytesTotal: 0, rate: 0, etaSeconds: null });
  });

  it('has no ETA without a rate', () => {
    const p = new Progress(() => {});
    p.start(1, 'a', 'down', 1000);
    const s = p.snapshot();
    expect(s.items[0]!.rate).toBe(0);
    expect(s.items[0]!.etaSeconds).toBeNull();
    expect(s.rate).toBe(0);
    expect(s.etaSeconds).toBeNull();
  });

  it('derives the ETA from the rate and the bytes left', () => {
    const p = new Progress(() => {});
    const id = p.start(1, 'a', 'down', 10_000);
    p.add(id, 1000);
    const s = p.snapshot();
    const item = s.items[0]!;
    // Measured over at least half a second: never more than twice the bytes seen.
    expect(item.rate).toBeGreaterThan(0);
    expect(item.rate).toBeLessThanOrEqual(2000);
    expect(item.etaSeconds).toBe(Math.ceil(9000 / item.rate));
    expect(s.rate).toBeGreaterThan(0);
    expect(s.etaSeconds).toBe(Math.ceil((s.bytesTotal - s.bytesDone) / s.rate));
  });

  it('a finished transfer leaves no ETA behind, and a complete one has zero left', () => {
    const p = new Progress(() => {});
    const a = p.start(1, 'a', 'up', 100);
    p.add(a, 100);
    expect(p.snapshot().items[0]!.etaSeconds).toBe(0);
    p.finish(a);
    const s = p.snapshot();
    expect(s.items).toEqual([]);
    expect(s.etaSeconds).toBeNull();
  });
});
