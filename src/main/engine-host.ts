/**
 * The utility process: runs the app core (FerryApp: the engine, and the embedded server when
 * hosting) and serves it to main over the parent port. It never touches Electron's APIs; what
 * only main can do (the keychain, the desktop) it asks main for. The same file runs as a plain
 * Node child process in tests.
 */
import { FerryApp } from '../app/ferry-app.js';
import { STATE_DIR_VARIABLE, UtilityEnd } from './host-channel.js';
import { desktopLogger, LOG_FILE_VARIABLE } from './log-file.js';
import { parentPort } from './parent-port.js';

const logger = desktopLogger('sync', process.env[LOG_FILE_VARIABLE]);
const end = new UtilityEnd(
  parentPort(),
  (problem) => logger.error(problem),
  () => process.exit(0),
);
const stateDir = process.env[STATE_DIR_VARIABLE];

if (!stateDir) {
  end.fail(new Error(`${STATE_DIR_VARIABLE} is not set`));
} else {
  FerryApp.start({ stateDir, logger, secrets: end.secrets, desktop: end.desktop, canHost: true }).then(
    (app) => end.serve(app, () => app.stop()),
    (err: unknown) => {
      logger.error({ err }, 'the app core did not start');
      end.fail(err);
    },
  );
}
