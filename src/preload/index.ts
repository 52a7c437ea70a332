/**
 * Runs sandboxed beside the renderer: exposes the bridge API as `window.ferry`, one function per
 * command and one subscription per event, and nothing generic (no raw ipcRenderer, no invoke).
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createIpcBridge, forContextBridge } from './ipc-bridge.js';

contextBridge.exposeInMainWorld('ferry', forContextBridge(createIpcBridge(ipcRenderer)));
