/**
 * The main window in headless Chromium, against a real server, the real `ferry sync --ui`
 * process serving the built UI, and a second real client (an engine in this process) whose
 * changes the UI must show. One server, client and page for the file: the scenarios follow
 * one another as a user's session would, and each leaves the folders converged.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as admin from '../../src/server/admin.js';
import { converged, controlState, isIdle, startClient, treeOf, writeRandomFile, type TestClient } from '../helpers/engine.js';
import { eventually, removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';
import { errorsOf, launchBrowser, openPage, requireBuild, screenshot, startUiClient, type UiClient } from './support.js';

const WAIT = 20_000;

describe('main window', { timeout: 60_000 }, () => {
  let srv: TestServer;
  let browser: Browser;
  let ui: UiClient;
  let other: TestClient;
  let page: Page;
  let uiDevice: number;

  beforeAll(async () => {
    requireBuild();
    srv = await startServer();
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    uiDevice = alice.device.id;
    const desktop = await admin.createToken(srv.store, 'alice', 'alice-desktop');
    const root = await tempDir('ferry-ui-root-');
    [ui, other, browser] = await Promise.all([
      startUiClient(['--server', srv.url, '--token', alice.token, '--folder', 'Docs', '--dir', root], { root }),
      startClient(srv.url, desktop.token, 'Docs'),
      launchBrowser(),
    ]);
    page = await openPage(browser, ui.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([ui?.stop(), other?.stop()]);
    await srv?.close();
    for (const dir of [ui?.root, ui?.stateDir, other?.root, other?.stateDir, srv?.dataDir]) if (dir) await removeDir(dir);
  });

  /** Both clients idle with the same files. */
  async function settled(): Promise<void> {
    let last = '';
    await eventually(
      async () => {
        const [mine, theirs, state, otherState] = await Promise.all([treeOf(ui.root), treeOf(other.root), controlState(ui.stateDir), other.engine.getState()]);
        const missing = Object.keys(mine).filter((p) => !(p in theirs));
        const extra = Object.keys(theirs).filter((p) => !(p in mine));
        last = `this device idle: ${isIdle(state)} ${JSON.stringify(state.folders)}; other idle: ${isIdle(otherState)}; only here: ${missing.join(', ')}; only there: ${extra.join(', ')}`;
        return isIdle(state) && isIdle(otherState) && JSON.stringify(mine) === JSON.stringify(theirs);
      },
      WAIT,
      'both clients to converge',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${last}`);
    });
  }

  const view = (name: string) => page.locator(`[data-view=${name}]`).click();
  const banner = (status: string) => page.locator(`[data-connection=${status}]`);

  it('shows that it is connected, and keeps the key out of the address bar', async () => {
    await banner('connected').waitFor({ timeout: WAIT });
    await expect(page.getByRole('status').filter({ hasText: 'Connected to' }).textContent()).resolves.toContain(srv.url);
    expect(page.url()).not.toContain('key=');
    await page.getByText('Everything is up to date').waitFor({ timeout: WAIT });
    await screenshot(page, 'main-connected');
  });

  it('lists a file created on another device in the activity feed', async () => {
    await writeFile(join(other.root, 'hello.txt'), 'hello v1');
    const row = page.locator('.activity[data-path="hello.txt"]');
    await row.waitFor({ timeout: WAIT });
    await expect(row.textContent()).resolves.toMatch(/Added.*on alice-desktop.*Docs/);
    await settled();
    await view('activity');
    await page.locator('.activity[data-path="hello.txt"]').waitFor();
    await screenshot(page, 'activity');
  });

  it('shows a file’s history and restores an earlier version on disk', async () => {
    await writeFile(join(other.root, 'hello.txt'), 'hello v2, longer');
    await eventually(async () => (await readFile(join(ui.root, 'hello.txt'), 'utf8')) === 'hello v2, longer', WAIT, 'v2 to arrive');
    await page.locator('.activity[data-path="hello.txt"]').first().getByRole('button', { name: 'History of hello.txt' }).click();
    const dialog = page.getByRole('dialog', { name: 'History of hello.txt' });
    await dialog.waitFor();
    const rows = dialog.locator('tbody tr');
    await eventually(async () => (await rows.count()) >= 2, WAIT, 'two versions');
    await expect(rows.first().textContent()).resolves.toContain('Current');
    await screenshot(page, 'history');
    await rows.last().getByRole('button', { name: /Restore version/ }).click();
    await eventually(async () => (await readFile(join(ui.root, 'hello.txt'), 'utf8')) === 'hello v1', WAIT, 'v1 restored on this device');
    await eventually(async () => (await readFile(join(other.root, 'hello.txt'), 'utf8')) === 'hello v1', WAIT, 'v1 restored on the other device');
    // The restore is a new version at the top.
    await eventually(async () => (await rows.count()) >= 3, WAIT, 'the restored version listed');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await settled();
  });

  it('sets a bandwidth limit in settings, and a large upload shows a moving progress bar', async () => {
    await view('settings');
    await page.getByLabel('Upload limit (KB/s)').fill('1024');
    await page.getByRole('region', { name: 'Syncing' }).getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').first().waitFor();
    const rules = page.getByRole('region', { name: 'Ignore rules' });
    await rules.getByRole('textbox').fill('*.tmp\nbuild/\n');
    await rules.getByRole('button', { name: 'Save' }).click();
    await rules.getByText('Saved.').waitFor();
    await eventually(async () => (await readFile(join(other.root, '.ferryignore'), 'utf8').catch(() => '')) === '*.tmp\nbuild/\n', WAIT, 'the rules to reach the other device');
    await screenshot(page, 'settings');

    await view('overview');
    await writeRandomFile(join(ui.root, 'big.bin'), 6 * 1024 * 1024);
    const bar = page.getByRole('progressbar', { name: 'big.bin' });
    await bar.waitFor({ timeout: WAIT });
    const first = await eventually(async () => Number(await bar.getAttribute('aria-valuenow', { timeout: 1000 }).catch(() => null)) || undefined, WAIT, 'some progress');
    const later = await eventually(
      async () => {
        const now = Number(await bar.getAttribute('aria-valuenow', { timeout: 1000 }).catch(() => null));
        return now > first && now < 100 ? now : undefined;
      },
      WAIT,
      'the bar to move',
    );
    expect(later).toBeGreaterThan(first);
    await expect(page.getByRole('region', { name: 'Transfers' }).textContent()).resolves.toMatch(/↑big\.bin.*\/s/);
    await screenshot(page, 'transfers');

    await view('settings');
    await page.getByLabel('Upload limit (KB/s)').fill('');
    await page.getByRole('region', { name: 'Syncing' }).getByRole('button', { name: 'Save' }).click();
    await view('overview');
    await bar.waitFor({ state: 'detached', timeout: WAIT });
    await settled();
    expect((await treeOf(other.root))['big.bin']).toEqual((await treeOf(ui.root))['big.bin']);
  });

  /** Both devices edit `name` while this one is paused: a conflict on resume. */
  async function makeConflict(name: string): Promise<void> {
    await writeFile(join(other.root, name), 'base');
    await eventually(async () => (await readFile(join(ui.root, name), 'utf8').catch(() => '')) === 'base', WAIT, `${name} to arrive`);
    await settled();
    await view('overview');
    await page.getByRole('button', { name: 'Pause syncing' }).click();
    await page.getByText('Syncing is paused').waitFor();
    await writeFile(join(ui.root, name), `mine: ${name}`);
    await writeFile(join(other.root, name), `theirs: ${name}`);
    await converged([other]);
    await page.getByRole('button', { name: 'Resume syncing' }).click();
    await page.locator(`.conflict[data-path="${name}"]`).or(page.getByText('Conflicts to resolve')).first().waitFor({ timeout: WAIT });
    await view('conflicts');
  }

  const copiesOf = async (root: string, stem: string) => (await readdir(root)).filter((n) => n.startsWith(`${stem} (conflict from `));

  it('shows a conflict; keep both leaves both versions on both devices', async () => {
    await makeConflict('plan.txt');
    const card = page.locator('.conflict[data-path="plan.txt"]');
    await card.waitFor({ timeout: WAIT });
    const text = await card.textContent();
    expect(text).toContain('alice-laptop');
    expect(text).toContain('alice-desktop');
    await expect(page.locator('[data-view=conflicts] .count').textContent()).resolves.toBe('1');
    await screenshot(page, 'conflict');
    await card.getByRole('button', { name: 'Keep both' }).click();
    await card.waitFor({ state: 'detached', timeout: WAIT });
    await settled();
    for (const root of [ui.root, other.root]) {
      expect(await readFile(join(root, 'plan.txt'), 'utf8')).toBe('theirs: plan.txt');
      const copies = await copiesOf(root, 'plan');
      expect(copies).toHaveLength(1);
      expect(await readFile(join(root, copies[0]!), 'utf8')).toBe('mine: plan.txt');
    }
    expect(await page.getByText('No conflicts.').isVisible()).toBe(true);
  });

  it('keep mine puts this device’s version at the path everywhere and removes the copy', async () => {
    await makeConflict('notes.txt');
    const card = page.locator('.conflict[data-path="notes.txt"]');
    await card.waitFor({ timeout: WAIT });
    await card.getByRole('button', { name: 'Keep mine' }).click();
    await card.waitFor({ state: 'detached', timeout: WAIT });
    await settled();
    for (const root of [ui.root, other.root]) {
      expect(await readFile(join(root, 'notes.txt'), 'utf8')).toBe('mine: notes.txt');
      expect(await copiesOf(root, 'notes')).toEqual([]);
    }
  });

  it('holds a mass delete as a sync issue, and restoring brings the files back', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `batch/file-${i}.txt`);
    await mkdir(join(other.root, 'batch'));
    for (const n of names) await writeFile(join(other.root, n), n);
    await settled();
    await rm(join(ui.root, 'batch'), { recursive: true });
    const issue = page.locator('.issue[data-kind="mass-delete"]');
    await eventually(async () => (await page.locator('[data-view=issues] .count').textContent({ timeout: 500 }).catch(() => null)) === '1', WAIT, 'the held delete');
    await view('issues');
    await issue.waitFor();
    await expect(issue.textContent()).resolves.toMatch(/\d+ files were deleted in Docs/);
    await screenshot(page, 'issues');
    await issue.getByRole('button', { name: 'Restore the files' }).click();
    await issue.waitFor({ state: 'detached', timeout: WAIT });
    await settled();
    expect((await readdir(join(ui.root, 'batch'))).length).toBe(names.length);
    // The overview folds the thirty additions into a line or few.
    await view('overview');
    const folded = page.locator('.activity[data-path="batch/"]').first();
    await folded.waitFor();
    expect(Number(await folded.getAttribute('data-count'))).toBeGreaterThan(1);
  });

  it('a confirmed mass delete goes ahead; a device that receives it asks its own user too', async () => {
    await rm(join(ui.root, 'batch'), { recursive: true });
    await eventually(async () => (await page.locator('[data-view=issues] .count').textContent({ timeout: 500 }).catch(() => null)) === '1', WAIT, 'the held delete');
    await view('issues');
    const issue = page.locator('.issue[data-kind="mass-delete"]');
    await issue.getByRole('button', { name: 'Delete them' }).click();
    await issue.waitFor({ state: 'detached', timeout: WAIT });
    // The same guard on the receiving side: what arrives from the server is held there as well.
    const held = await eventually(async () => (await other.engine.getState()).issues.find((i) => i.kind === 'mass-delete'), WAIT, 'the other device to hold the deletes');
    await other.engine.confirmDeletes(held.folder);
    await settled();
    expect(Object.keys(await treeOf(other.root)).filter((p) => p.startsWith('batch'))).toEqual([]);
  });

  it('works by keyboard: Tab reaches the views and Enter opens one', async () => {
    await view('overview');
    await page.locator('body').focus();
    let found = false;
    for (let i = 0; i < 30 && !found; i++) {
      await page.keyboard.press('Tab');
      found = (await page.evaluate<string | null>("document.activeElement?.getAttribute('data-view') ?? null")) === 'activity';
    }
    expect(found).toBe(true);
    expect(await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
    await page.keyboard.press('Enter');
    await expect(page.locator('[data-view=activity]').getAttribute('aria-current')).resolves.toBe('page');
  });

  it('dark theme, Simplified Chinese and 800×600 render without overflow', async () => {
    const dark = await openPage(browser, ui.url, { colorScheme: 'dark' });
    await dark.locator('[data-connection=connected]').waitFor({ timeout: WAIT });
    const bg = await dark.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    expect(r! + g! + b!).toBeLessThan(150);
    await screenshot(dark, 'dark');
    await dark.context().close();

    const zh = await openPage(browser, ui.url, { locale: 'zh-CN' });
    await zh.getByRole('button', { name: '概览' }).waitFor({ timeout: WAIT });
    await expect(zh.locator('html').getAttribute('lang')).resolves.toBe('zh-CN');
    await screenshot(zh, 'zh-CN');
    await zh.context().close();

    const small = await openPage(browser, ui.url, { viewport: { width: 800, height: 600 } });
    await small.locator('[data-connection=connected]').waitFor({ timeout: WAIT });
    expect(await small.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(800);
    await screenshot(small, 'small-800x600');
    await small.context().close();

    // The theme setting overrides the system's.
    await view('settings');
    await page.getByLabel('Theme').selectOption('dark');
    await expect(page.locator('html').getAttribute('data-theme')).resolves.toBe('dark');
    await page.getByLabel('Theme').selectOption('system');
  });

  it('shows offline with a retry countdown while the server is down, and recovers when it returns', async () => {
    const port = Number(new URL(srv.url).port);
    await view('overview');
    await srv.close();
    await banner('offline').waitFor({ timeout: WAIT });
    await page.getByText(/Retrying in \d+ s/).waitFor();
    await screenshot(page, 'offline');
    srv = await startServer({ dataDir: srv.dataDir, port });
    await page.getByRole('button', { name: 'Retry now' }).click().catch(() => {
      /* it may have reconnected on its own already */
    });
    await banner('connected').waitFor({ timeout: 45_000 });
  });

  it('shows signed out when the device token is revoked', async () => {
    await admin.revokeToken(srv.store, uiDevice);
    await banner('signed-out').waitFor({ timeout: WAIT });
    await screenshot(page, 'signed-out');
    expect(errorsOf(page)).toEqual([]);
  });
});
