/**
 * The bridge this UI talks to: the preload's `window.ferry` inside the desktop app, otherwise
 * the web bridge to the headless client that served this page. The client's key arrives in the
 * URL fragment once; it is kept for the tab's life and taken out of the address bar, so it does
 * not end up in history, bookmarks or screenshots.
 */
import type { FerryBridge } from '../../shared/bridge.js';
import { createWebBridge } from './web-bridge.js';

declare global {
  interface Window {
    ferry?: FerryBridge;
  }
}

const KEY_STORAGE = 'ferry.key';

function takeKeyFromUrl(): string | null {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const key = fragment.get('key');
  if (key) {
    sessionStorage.setItem(KEY_STORAGE, key);
    fragment.delete('key');
    const rest = fragment.toString();
    history.replaceState(null, '', window.location.pathname + window.location.search + (rest ? `#${rest}` : ''));
  }
  return sessionStorage.getItem(KEY_STORAGE);
}

/** The bridge, or null when this page was opened without the key that the client printed. */
export function connectBridge(): FerryBridge | null {
  if (window.ferry) return window.ferry;
  const key = takeKeyFromUrl();
  if (!key) return null;
  return createWebBridge({ baseUrl: window.location.origin, key });
}
