import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SealedTokenFile, type Sealer } from '../../src/main/sealed-token-file.js';
import { keychainStandIn as keychain } from '../helpers/desktop.js';
import { removeDir, tempDir } from '../helpers/server.js';

const TOKEN = 'f3rry-device-token-0123456789abcdef';
let dir: string;
afterEach(async () => removeDir(dir));

async function setup(sealer: Sealer) {
  dir = await tempDir('ferry-token-');
  const warnings: string[] = [];
  const file = join(dir, 'device-token.json');
  return { file, warnings, store: new SealedTokenFile(file, sealer, (m) => warnings.push(m)) };
}

describe('SealedTokenFile', () => {
  it('keeps the token sealed on disk, owner-only, and reads it back', async () => {
    const { file, store, warnings } = await setup(keychain(0x5a));
    expect(await store.load()).toBeNull();
    await store.save(TOKEN);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(TOKEN);
    expect(JSON.parse(text)).toMatchObject({ v: 1, sealed: true });
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await store.load()).toBe(TOKEN);
    await store.save('second-token');
    expect(await store.load()).toBe('second-token');
    await store.clear();
    expect(await store.load()).toBeNull();
    await store.clear();
    expect(warnings).toEqual([]);
  });

  it('without a keychain keeps the token unsealed in an owner-only file, and says so', async () => {
    const { file, store, warnings } = await setup(keychain(0x5a, false));
    await store.save(TOKEN);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ v: 1, sealed: false, data: TOKEN });
    expect(await store.load()).toBe(TOKEN);
    expect(warnings).toEqual([expect.stringContaining('no OS keychain')]);
  });

  it('answers "no token" for a token it cannot unseal or a damaged file, never throws', async () => {
    const { file, store, warnings } = await setup(keychain(0x5a));
    await store.save(TOKEN);
    expect(await new SealedTokenFile(file, keychain(0x33), () => undefined).load()).toBeNull();
    expect(await new SealedTokenFile(file, keychain(0x5a, false), () => undefined).load()).toBeNull();
    for (const junk of ['', '{', '[]', '{"v":2,"sealed":true,"data":"x"}']) {
      await writeFile(file, junk);
      expect(await store.load()).toBeNull();
    }
    expect(warnings).toHaveLength(4);
  });
});
