/**
 * The utility process's channel to main as a Port: Electron's process.parentPort, or, when the
 * same entry runs as a plain Node child process (tests), the IPC channel of child_process.fork.
 */
import type { Port } from './host-channel.js';

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  off(event: 'message', listener: (event: { data: unknown }) => void): unknown;
}

export function parentPort(): Port {
  const electron = (process as { parentPort?: ElectronParentPort }).parentPort;
  if (electron) {
    return {
      post: (message) => electron.postMessage(message),
      onMessage(listener) {
        const handler = (event: { data: unknown }) => listener(event.data);
        electron.on('message', handler);
        return () => void electron.off('message', handler);
      },
    };
  }
  const send = process.send?.bind(process);
  if (!send) throw new Error('the engine host must run as a child process with a message channel to its parent');
  return {
    post: (message) => void send(message),
    onMessage(listener) {
      const handler = (message: unknown) => listener(message);
      process.on('message', handler);
      return () => void process.off('message', handler);
    },
  };
}
