/**
 * What the app core in the utility process needs from Electron's main process: the device
 * token sealed with safeStorage, and the desktop's own actions. Only main can reach those APIs.
 */
export interface SecretStore {
  load(): Promise<string | null>;
  save(token: string): Promise<void>;
  clear(): Promise<void>;
}

export interface DesktopHooks {
  showInFolder(absolutePath: string): Promise<void>;
  chooseFolder(): Promise<string | null>;
  getLaunchAtLogin(): Promise<boolean>;
  setLaunchAtLogin(on: boolean): Promise<void>;
}

export interface HostServices {
  secrets: SecretStore;
  desktop: DesktopHooks;
}
