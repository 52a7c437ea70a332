/**
 * The comparison benchmark's own measuring tools: if they miscount, every figure it prints is
 * wrong. Real sockets on 127.0.0.1 and real folders; the proxy's worker runs from dist/.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TreeWatcher, writeTree } from '../../bench/support/tree.js';
import { WireProxies } from '../../bench/support/wire-proxy.js';
import { eventually } from '../helpers/server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An echo server that also reports when a connection of its closes. */
async function echoServer(): Promise<{ port: number; closed: () => number }> {
  let closed = 0;
  const server: Server = createServer((s) => {
    s.on('data', (d) => s.write(d));
    s.on('close', () => closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { port: (server.address() as { port: number }).port, closed: () => closed };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('wire proxies', () => {
  it('pass every byte both ways and count each direction exactly', async () => {
    const echo = await echoServer();
    const wire = WireProxies.start();
    cleanups.push(() => wire.close());
    const port = await wire.add('A → echo', echo.port);
    const client = await open(port);
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const back: Buffer[] = [];
    client.on('data', (d: Buffer) => back.push(d));
    client.write(payload);
    await eventually(() => Buffer.concat(back).length >= payload.length, 10_000, 'the echo');
    expect(Buffer.concat(back).equals(payload)).toBe(true);
    expect(wire.counts().get('A → echo')).toEqual({ sent: payload.length, received: payload.length });
    expect(wire.total()).toBe(2 * payload.length);
    client.destroy();
    await eventually(() => echo.closed() === 1, 5000, 'the proxy to close the connection behind it');
  });

  it('keep one count per proxy', async () => {
    const echo = await echoServer();
    const wire = WireProxies.start();
    cleanups.push(() => wire.close());
    const ports = [await wire.add('A', echo.port), await wire.add('B', echo.port)];
    const client = await open(ports[1]!);
    client.write(Buffer.alloc(1000));
    await eventually(() => wire.counts().get('B')!.received === 1000, 5000, 'the echo');
    expect(wire.counts().get('B')).toEqual({ sent: 1000, received: 1000 });
    expect(wire.counts().get('A')).toEqual({ sent: 0, received: 0 });
    client.destroy();
  });
});

describe('tree watcher', () => {
  it('sees the same tree only when every path, size and content matches, ignoring the reserved root names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-tree-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const layout = { dirs: ['d', 'd/e'], files: [{ path: 'd/one.bin', size: 4096 }, { path: 'd/e/two.bin', size: 10 }] };
    const expected = await writeTree(join(dir, 'a'), layout);
    const b = join(dir, 'b');
    await mkdir(join(b, 'd/e'), { recursive: true });
    await mkdir(join(b, '.stfolder'));
    const watcher = new TreeWatcher(b, new Set(['.stfolder']));
    expect((await watcher.look(expected)).diff).toMatch(/2 missing/);

    for (const f of layout.files) await writeFile(join(b, f.path), await readFile(join(dir, 'a', f.path)));
    expect(await watcher.look(expected)).toMatchObject({ same: true });

    // Same size, one byte different: only the hash can tell.
    const changed = await readFile(join(b, 'd/one.bin'));
    changed[100] = changed[100]! ^ 0xff;
    await writeFile(join(b, 'd/one.bin'), changed);
    expect(await watcher.look(expected)).toMatchObject({ same: false, diff: expect.stringMatching(/1 files differ in content/) });

    await writeFile(join(b, 'd/one.bin'), await readFile(join(dir, 'a', 'd/one.bin')));
    await writeFile(join(b, '.syncthing.two.bin.tmp'), 'half');
    expect(await watcher.look(expected)).toMatchObject({ same: false, diff: expect.stringMatching(/1 extra/) });
  });
});
