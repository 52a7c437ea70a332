import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ORIGIN, contentType, isExternalLink, isOwnPage, rendererEntry, rendererFile } from '../../src/main/renderer-page.js';

describe('the renderer page', () => {
  it('loads from app://ferry, or from the dev server when one runs', () => {
    expect(rendererEntry(undefined)).toBe('app://ferry/index.html');
    expect(rendererEntry('http://localhost:5173')).toBe('http://localhost:5173');
  });

  it('trusts only frames on its own origin', () => {
    const entry = rendererEntry(undefined);
    expect(isOwnPage('app://ferry/index.html#/settings', entry)).toBe(true);
    expect(isOwnPage('app://ferry/other.html', entry)).toBe(true);
    expect(isOwnPage('app://evil/index.html', entry)).toBe(false);
    expect(isOwnPage('https://ferry/index.html', entry)).toBe(false);
    expect(isOwnPage('file:///work/out/renderer/index.html', entry)).toBe(false);
    expect(isOwnPage('', entry)).toBe(false);
    expect(isOwnPage('not a url', entry)).toBe(false);
    const dev = rendererEntry('http://localhost:5173');
    expect(isOwnPage('http://localhost:5173/#/', dev)).toBe(true);
    expect(isOwnPage('http://localhost:5174/', dev)).toBe(false);
    expect(isOwnPage('http://127.0.0.1:5173/', dev)).toBe(false);
  });

  it('lets http, https and mailto links out to the system, nothing else', () => {
    expect(isExternalLink('https://example.org/help')).toBe(true);
    expect(isExternalLink('mailto:help@example.org')).toBe(true);
    expect(isExternalLink('file:///etc/passwd')).toBe(false);
    expect(isExternalLink('javascript:alert(1)')).toBe(false);
    expect(isExternalLink('smb://share/x')).toBe(false);
    expect(isExternalLink('::')).toBe(false);
  });

  it('maps app:// requests to files inside the renderer folder only', () => {
    const root = resolve('/srv/out/renderer');
    expect(rendererFile(`${APP_ORIGIN}/index.html`, root)).toBe(join(root, 'index.html'));
    expect(rendererFile(`${APP_ORIGIN}/`, root)).toBe(join(root, 'index.html'));
    expect(rendererFile(`${APP_ORIGIN}/assets/index-abc.js?v=1#x`, root)).toBe(join(root, 'assets', 'index-abc.js'));
    expect(rendererFile(`${APP_ORIGIN}/assets/a%20b.css`, root)).toBe(join(root, 'assets', 'a b.css'));
    expect(rendererFile(`${APP_ORIGIN}/../main/index.js`, root)).toBe(join(root, 'main', 'index.js'));
    // The URL parser folds dot segments (plain or %2e) before any path exists: still inside.
    expect(rendererFile(`${APP_ORIGIN}/%2e%2e/main/index.js`, root)).toBe(join(root, 'main', 'index.js'));
    // Encoded slashes survive the parser and are decoded after it: these would leave the folder.
    expect(rendererFile(`${APP_ORIGIN}/assets/%2e%2e%2f%2e%2e%2fmain/index.js`, root)).toBeNull();
    expect(rendererFile(`${APP_ORIGIN}/a%00b`, root)).toBeNull();
    expect(rendererFile(`${APP_ORIGIN}/%E0%A4%A`, root)).toBeNull();
    expect(rendererFile('app://other/index.html', root)).toBeNull();
    expect(rendererFile('file:///srv/out/renderer/index.html', root)).toBeNull();
  });

  it('names the content types the renderer build produces', () => {
    expect(contentType('index.html')).toBe('text/html; charset=utf-8');
    expect(contentType('assets/x.JS')).toBe('text/javascript; charset=utf-8');
    expect(contentType('a.css')).toBe('text/css; charset=utf-8');
    expect(contentType('logo.svg')).toBe('image/svg+xml');
    expect(contentType('blob')).toBe('application/octet-stream');
  });
});
