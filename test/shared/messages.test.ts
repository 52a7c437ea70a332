import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClientMessage, parseServerMessage } from '../../src/shared/protocol/messages.js';

const hash = 'cd'.repeat(32);
const put = { op: 'put', path: 'a.txt', baseRev: 0, kind: 'file', size: 3, mtime: 1, mode: 0o644, hash, chunks: [[hash, 3]], target: '' };

describe('parseClientMessage', () => {
  it('accepts a well-formed commit', () => {
    const parsed = parseClientMessage(JSON.stringify({ type: 'commit', req: 7, folder: 1, ops: [put] }));
    expect(parsed).toMatchObject({ ok: true, message: { type: 'commit', req: 7 } });
  });

  it('calls broken framing fatal', () => {
    for (const text of ['not json', '[1,2]', 'null', '42', '{"req":1}', '{"type":5}']) {
      expect(parseClientMessage(text)).toMatchObject({ ok: false, fatal: true });
    }
  });

  it('answers a bad request with its req, a code and a reason', () => {
    const bad = parseClientMessage(JSON.stringify({ type: 'commit', req: 3, folder: 1, ops: [{ ...put, size: 4 }] }));
    expect(bad).toMatchObject({ ok: false, fatal: false, req: 3, code: 'bad_request', reason: expect.stringContaining('add up') });
    const path = parseClientMessage(JSON.stringify({ type: 'commit', req: 4, folder: 1, ops: [{ ...put, path: '../x' }] }));
    expect(path).toMatchObject({ ok: false, fatal: false, req: 4, code: 'invalid_path' });
    const unknown = parseClientMessage(JSON.stringify({ type: 'launch', req: 5 }));
    expect(unknown).toMatchObject({ ok: false, fatal: false, req: 5, code: 'unknown_type' });
  });

  it('checks the shape of each kind of entry', () => {
    const dirWithHash = { ...put, kind: 'dir', size: 0, chunks: [] };
    expect(parseClientMessage(JSON.stringify({ type: 'commit', req: 1, folder: 1, ops: [dirWithHash] }))).toMatchObject({ ok: false, code: 'bad_request' });
    const linkWithoutTarget = { ...put, kind: 'symlink', size: 0, chunks: [], hash: '' };
    expect(parseClientMessage(JSON.stringify({ type: 'commit', req: 1, folder: 1, ops: [linkWithoutTarget] }))).toMatchObject({ ok: false });
    const moveIntoItself = { op: 'move', from: 'a', path: 'a/b', baseRev: 1 };
    expect(parseClientMessage(JSON.stringify({ type: 'commit', req: 1, folder: 1, ops: [moveIntoItself] }))).toMatchObject({ ok: false });
  });

  it('never throws, whatever arrives', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ type: 'commit', req: 1, folder: 1, ops: [v] }))), (text) => {
        const parsed = parseClientMessage(text);
        expect(typeof parsed.ok).toBe('boolean');
      }),
    );
  });
});

describe('parseServerMessage', () => {
  it('validates what a server sends, too', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'have', req: 1, missing: [hash] }))).toMatchObject({ ok: true });
    const evil = { type: 'changes', folder: 1, from: 0, rev: 1, more: false, entries: [{ path: '../../etc/passwd' }] };
    expect(parseServerMessage(JSON.stringify(evil))).toMatchObject({ ok: false, fatal: false });
  });
});
