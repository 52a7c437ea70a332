/**
 * The window and the rules every web page in the app lives by: context isolation, a sandboxed
 * renderer without Node, no navigation away from our page, no new windows (links open in the
 * system browser), no permissions, and the CSP as a response header. The renderer is served by
 * the app:// scheme from out/renderer.
 */
import { pathToFileURL } from 'node:url';
import { BrowserWindow, net, protocol, shell, type Session, type WebContents } from 'electron';
import { APP_SCHEME, CONTENT_SECURITY_POLICY, contentType, isExternalLink, isOwnPage, rendererFile } from './renderer-page.js';

/** Must run before the app is ready: app:// behaves like https (a real origin, fetch allowed). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/** Serves the renderer from `root` and denies every permission; the CSP header goes on every page response. */
export function hardenSession(session: Session, root: string, entry: string): void {
  session.protocol.handle(APP_SCHEME, async (request) => {
    const file = rendererFile(request.url, root);
    if (!file) return new Response('Not found', { status: 404 });
    const found = await net.fetch(pathToFileURL(file).toString()).catch(() => null);
    if (!found?.ok) return new Response('Not found', { status: 404 });
    return new Response(found.body, {
      headers: { 'Content-Type': contentType(file), 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' },
    });
  });
  // The development server's pages get the same header.
  session.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    if (isOwnPage(details.url, entry)) headers['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
    callback({ responseHeaders: headers });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/** For every web contents the app creates: stay on our page, open links outside, no webviews. */
export function guardContents(contents: WebContents, entry: string): void {
  contents.on('will-navigate', (event, url) => {
    if (isOwnPage(url, entry)) return;
    event.preventDefault();
    if (isExternalLink(url)) void shell.openExternal(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (!isOwnPage(url, entry)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

export function createWindow(entry: string, preload: string, icon: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1000,
    height: 700,
    minWidth: 720,
    minHeight: 480,
    title: 'Ferry',
    icon,
    show: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(entry);
  return window;
}
