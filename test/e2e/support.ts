/**
 * Browser end-to-end support: headless Debian Chromium driven by playwright-core, the real
 * `ferry sync --ui` process serving the built UI, and a screenshot of every screen kept under
 * test-artifacts/screens/ for people to look at.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { eventually, FERRY_BIN, ROOT, tempDir } from '../helpers/server.js';

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];
export const SCREENS_DIR = join(ROOT, 'test-artifacts', 'screens');

/** The UI and the CLI run from build output; say how to get it instead of failing obscurely. */
export function requireBuild(): void {
  for (const file of [join(ROOT, 'out', 'renderer', 'index.html'), join(ROOT, 'dist', 'src', 'cli', 'main.js')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npx tsc -p tsconfig.json && npx electron-vite build\` (npm test does) before the browser tests`);
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

const pageErrors = new WeakMap<Page, string[]>();

/** A page in a fresh context (its own storage), 1000×700 in English and light unless told. */
export async function openPage(browser: Browser, url: string, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, locale: 'en-US', colorScheme: 'light', ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  pageErrors.set(page, errors);
  await page.goto(url);
  return page;
}

/** Uncaught exceptions in the page so far: a UI that throws has failed even if it still shows something. */
export function errorsOf(page: Page): string[] {
  return pageErrors.get(page) ?? [];
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENS_DIR, { recursive: true });
  // Let the last state change paint (progress bars animate their width).
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  await page.screenshot({ path: join(SCREENS_DIR, `${name}.png`) });
}

export interface UiClient {
  proc: ChildProcess;
  /** The address to open, with the key in its fragment. */
  url: string;
  root: string;
  stateDir: string;
  output(): string;
  stop(): Promise<number | null>;
}

const UI_URL = /https?:\/\/127\.0\.0\.1:\d+\/?#key=[A-Za-z0-9_-]+/;

/**
 * `ferry sync … --ui 127.0.0.1:0` as a process; resolves with the address it prints. Without
 * server arguments it starts in first-run mode.
 */
export async function startUiClient(args: string[], options: { root?: string; stateDir?: string } = {}): Promise<UiClient> {
  const root = options.root ?? (await tempDir('ferry-ui-root-'));
  const stateDir = options.stateDir ?? (await tempDir('ferry-ui-state-'));
  const proc = spawn(process.execPath, [FERRY_BIN, 'sync', '--state', stateDir, ...args, '--ui', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const url = await eventually(
    () => {
      if (exitCode !== undefined) throw new Error(`ferry sync --ui exited with ${exitCode}:\n${output}`);
      return UI_URL.exec(output)?.[0];
    },
    20_000,
    'ferry sync to print its UI address',
  );
  return {
    proc,
    url,
    root,
    stateDir,
    output: () => output,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}
