/**
 * The Electron main process: one instance, a tray that is always there, a window when asked,
 * and the app core (engine, and the embedded server when hosting) in a utility process so that
 * nothing here ever blocks. Everything with logic lives in the modules it wires together.
 */
import { join } from 'node:path';
import { app, ipcMain, safeStorage, session, shell, utilityProcess, type BrowserWindow } from 'electron';
import { electronDesktopHooks } from './desktop-hooks.js';
import { EngineSupervisor, type HostProcess } from './engine-supervisor.js';
import { STATE_DIR_VARIABLE } from './host-channel.js';
import { routeBridge } from './ipc-router.js';
import { HIDDEN_FLAG } from './linux-autostart.js';
import { desktopLogger, LOG_FILE_VARIABLE, rotateLog } from './log-file.js';
import { Notifier } from './notifier.js';
import { isOwnPage, rendererEntry } from './renderer-page.js';
import { SealedTokenFile } from './sealed-token-file.js';
import { StateMirror } from './state-mirror.js';
import { TrayService } from './tray.js';
import { trayModel, type MenuAction } from './tray-model.js';
import { createWindow, guardContents, hardenSession, registerAppScheme } from './window.js';

function forkHost(stateDir: string, logFile: string): HostProcess {
  const child = utilityProcess.fork(join(import.meta.dirname, 'engine-host.js'), [], {
    serviceName: 'Ferry sync',
    stdio: 'inherit',
    env: { ...process.env, [STATE_DIR_VARIABLE]: stateDir, [LOG_FILE_VARIABLE]: logFile },
  });
  return {
    port: {
      post: (message) => child.postMessage(message),
      onMessage(listener) {
        const handler = (message: unknown) => listener(message);
        child.on('message', handler);
        return () => void child.off('message', handler);
      },
    },
    onExit: (listener) => void child.once('exit', listener),
    kill: () => void child.kill(),
  };
}

function run(): void {
  const logFile = join(app.getPath('logs'), 'ferry.log');
  rotateLog(logFile);
  const logger = desktopLogger('main', logFile);
  const entry = rendererEntry(app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL);
  const resources = app.isPackaged ? process.resourcesPath : join(app.getAppPath(), 'resources');
  const appIcon = join(resources, 'icon-512.png');
  // Not userData itself: on macOS and Windows that is where the headless client keeps its state.
  const stateDir = join(app.getPath('userData'), 'app');
  const startHidden = process.argv.includes(HIDDEN_FLAG) || (process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin);

  let window: BrowserWindow | null = null;
  let hostDown: string | null = null;
  let quitting = false;

  const showWindow = () => {
    // macOS can send 'activate' while the app is still starting; the window comes with 'ready'.
    if (!app.isReady()) return;
    if (!window || window.isDestroyed()) {
      window = createWindow(entry, join(import.meta.dirname, '../preload/index.cjs'), appIcon);
      window.on('closed', () => (window = null));
    }
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  };

  const supervisor = new EngineSupervisor({
    fork: () => forkHost(stateDir, logFile),
    services: {
      secrets: new SealedTokenFile(join(app.getPath('userData'), 'device-token.json'), safeStorage, (m) => logger.warn(m)),
      desktop: electronDesktopHooks(() => window),
    },
    log: (level, message) => logger[level](message),
    onUp: () => {
      hostDown = null;
      notifier.reset();
      mirror.refresh(bridge).catch((err: unknown) => {
        hostDown = err instanceof Error ? err.message : String(err);
        render();
      });
    },
    onDown: (reason) => {
      hostDown = reason;
      mirror.clear();
    },
  });
  const bridge = supervisor.bridge;
  const mirror = new StateMirror(() => render());
  const notifier = new Notifier(appIcon, showWindow);

  const act = (action: MenuAction) => {
    const failed = (err: unknown) => logger.warn({ err }, `tray action ${action.kind} failed`);
    switch (action.kind) {
      case 'open-window':
        return showWindow();
      case 'open-folder':
        return void shell.openPath(action.dir).then((problem) => problem && logger.warn(problem));
      case 'pause':
        return void bridge.pause().catch(failed);
      case 'resume':
        return void bridge.resume().catch(failed);
      case 'quit':
        return app.quit();
    }
  };
  const tray = new TrayService(join(resources, 'tray'), act);

  function render(): void {
    if (quitting) return;
    tray.render(trayModel({ state: mirror.view, app: mirror.app, hostDown }));
    if (mirror.view) notifier.update(mirror.view, mirror.app?.settings.notifications ?? true);
  }

  app.on('second-instance', showWindow);
  app.on('activate', showWindow);
  app.on('web-contents-created', (_event, contents) => guardContents(contents, entry));
  // Closing the window leaves Ferry syncing in the tray; Quit in the tray menu ends it.
  app.on('window-all-closed', () => undefined);
  app.on('before-quit', (event) => {
    if (quitting) return;
    quitting = true;
    event.preventDefault();
    tray.destroy();
    void supervisor.stop().finally(() => app.quit());
  });

  void app.whenReady().then(() => {
    if (process.platform === 'win32') app.setAppUserModelId('org.ferry.desktop');
    hardenSession(session.defaultSession, join(import.meta.dirname, '../renderer'), entry);
    routeBridge(ipcMain, bridge, {
      trusted: (url) => isOwnPage(url, entry),
      send: (channel, event, payload) => {
        if (window && !window.isDestroyed()) window.webContents.send(channel, event, payload);
      },
    });
    mirror.follow(bridge);
    supervisor.start();
    render();
    if (!startHidden) showWindow();
  });
}

registerAppScheme();
// The same folder in development (where the name would be package.json's "ferry") as when
// packaged; set before the single-instance lock, which lives there.
app.setPath('userData', join(app.getPath('appData'), 'Ferry'));
if (app.requestSingleInstanceLock()) run();
else app.quit();
