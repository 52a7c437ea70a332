/**
 * The built renderer (out/renderer from `npx electron-vite build`), served read-only. Nothing
 * outside that directory is ever reachable, whatever the path says.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/** out/renderer of the package this module belongs to (from src/ under vitest, from dist/ when built). */
export function defaultRendererDir(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'out', 'renderer');
    if (dirname(dir) === dir) return join(import.meta.dirname, 'renderer');
  }
}

/** The file a URL path names inside `root`, or undefined for anything that is not a file there. */
export async function resolveStatic(root: string, pathname: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const base = resolve(root);
  const file = resolve(base, '.' + (decoded === '/' ? '/index.html' : decoded));
  if (!file.startsWith(base + sep)) return undefined;
  try {
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

export async function sendStatic(res: ServerResponse, file: string, headOnly: boolean): Promise<void> {
  const body = await readFile(file);
  res.writeHead(200, {
    'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': body.length,
    // The UI changes with every build; revalidating is cheap on loopback.
    'cache-control': 'no-cache',
  });
  res.end(headOnly ? undefined : body);
}
