/**
 * The first run in headless Chromium: `ferry sync --ui` started with no server, the browser
 * connects it to a real server with a user's password, and it syncs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as admin from '../../src/server/admin.js';
import { startClient, type TestClient } from '../helpers/engine.js';
import { eventually, removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';
import { errorsOf, launchBrowser, openPage, requireBuild, screenshot, startUiClient, type UiClient } from './support.js';

const WAIT = 20_000;

describe('first run', { timeout: 60_000 }, () => {
  let srv: TestServer;
  let browser: Browser;
  let ui: UiClient;
  let other: TestClient;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    requireBuild();
    srv = await startServer();
    const carol = await seedUser(srv.store, 'carol', 'Photos');
    dir = await tempDir('ferry-first-run-');
    [ui, other, browser] = await Promise.all([startUiClient([]), startClient(srv.url, carol.token, 'Photos'), launchBrowser()]);
    page = await openPage(browser, ui.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([ui?.stop(), other?.stop()]);
    await srv?.close();
    for (const d of [dir, ui?.root, ui?.stateDir, other?.root, other?.stateDir, srv?.dataDir]) if (d) await removeDir(d);
  });

  it('offers to connect to a server, and hides hosting where this client cannot host', async () => {
    await page.getByRole('heading', { name: 'Welcome to Ferry' }).waitFor({ timeout: WAIT });
    await page.getByRole('form', { name: 'Connect to a server' }).waitFor();
    await screenshot(page, 'first-run-connect');
    if ((await page.getByRole('radiogroup').count()) > 0) {
      await page.getByRole('radio', { name: 'Host on this computer' }).click();
      await page.getByRole('form', { name: 'Host on this computer' }).waitFor();
      await screenshot(page, 'first-run-host');
      await page.getByRole('radio', { name: 'Connect to a server' }).click();
    }
  });

  it('says so when the password is wrong, and loses nothing typed', async () => {
    const form = page.getByRole('form', { name: 'Connect to a server' });
    await form.getByLabel('Server address').fill(srv.url);
    await form.getByLabel('User', { exact: true }).fill('carol');
    await form.getByLabel('Password').fill('not-her-password');
    await form.getByLabel('Device name').fill('carol-browser');
    await form.getByLabel('Folder on this computer').fill(dir);
    await form.getByRole('button', { name: 'Connect' }).click();
    await form.getByRole('alert').waitFor({ timeout: WAIT });
    await expect(form.getByRole('alert').textContent()).resolves.toContain('The user name or password is wrong.');
    await expect(form.getByLabel('Server address').inputValue()).resolves.toBe(srv.url);
    await screenshot(page, 'first-run-error');
  });

  it('connects with the right password, shows the main window and syncs the folder', async () => {
    const form = page.getByRole('form', { name: 'Connect to a server' });
    await form.getByLabel('Password').fill('carol-password');
    await form.getByRole('button', { name: 'Connect' }).click();
    await page.locator('[data-connection=connected]').waitFor({ timeout: WAIT });
    await writeFile(join(other.root, 'from-other.txt'), 'hi carol');
    await eventually(async () => (await readFile(join(dir, 'from-other.txt'), 'utf8').catch(() => '')) === 'hi carol', WAIT, 'the file to arrive');
    await page.locator('.activity[data-path="from-other.txt"]').waitFor({ timeout: WAIT });
    const devices = await srv.store.listDevices();
    expect(devices.map((d) => d.name)).toContain('carol-browser');
  });

  it('after the token is revoked, shows signed out and signs in again with the password', async () => {
    const device = (await srv.store.listDevices()).find((d) => d.name === 'carol-browser')!;
    await admin.revokeToken(srv.store, device.id);
    await page.locator('[data-connection=signed-out]').waitFor({ timeout: WAIT });
    await screenshot(page, 'signed-out-sign-in');
    await page.getByPlaceholder('Password').fill('carol-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-connection=connected]').waitFor({ timeout: WAIT });
    await writeFile(join(other.root, 'after-sign-in.txt'), 'still syncing');
    await eventually(async () => (await readFile(join(dir, 'after-sign-in.txt'), 'utf8').catch(() => '')) === 'still syncing', WAIT, 'the file to arrive');
    expect(errorsOf(page)).toEqual([]);
  });
});
