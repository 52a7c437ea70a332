/** Where a client keeps its journal, credentials and control key by default: the OS app-data location. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultStateDir(): string {
  if (process.env.FERRY_STATE) return process.env.FERRY_STATE;
  switch (process.platform) {
    case 'win32':
      return join(process.env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Ferry');
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Ferry');
    default:
      return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'ferry');
  }
}

export const CREDENTIALS_FILE = 'credentials.json';

export interface Credentials {
  server: string;
  token: string;
  user: string;
  device: string;
}
