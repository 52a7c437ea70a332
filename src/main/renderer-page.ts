/**
 * Where the renderer page lives and what it may do. In production the page is served from
 * out/renderer by our own `app://ferry/` scheme (a real origin, unlike file://, so the sender
 * check and the CSP header mean something); in development from electron-vite's dev server.
 */
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';

export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://ferry`;

/** The same policy as the meta tag in src/renderer/index.html, sent as a header too. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page the window loads: the dev server's when electron-vite runs one. */
export function rendererEntry(devServerUrl: string | undefined): string {
  return devServerUrl ? devServerUrl : `${APP_ORIGIN}/index.html`;
}

function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    // Non-special schemes have an opaque origin ('null'); ours is registered as standard in
    // Electron, so build it the same way for both.
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return null;
  }
}

/** Whether `url` belongs to our renderer: the only frames that may call the bridge or be navigated to. */
export function isOwnPage(url: string, entry: string): boolean {
  const origin = originOf(url);
  return origin !== null && origin !== '//' && origin === originOf(entry);
}

/** Links the user may follow out of the app, in the system browser. */
export function isExternalLink(url: string): boolean {
  try {
    return ['https:', 'http:', 'mailto:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

/** The file under `root` an `app://ferry/…` request asks for; null for anything outside it. */
export function rendererFile(url: string, root: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (`${parsed.protocol}//${parsed.host}` !== APP_ORIGIN) return null;
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  const file = resolve(root, `.${path === '/' ? '/index.html' : path}`);
  const inside = relative(root, file);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return null;
  return file;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
};

export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}
