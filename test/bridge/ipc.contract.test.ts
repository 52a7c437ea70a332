/**
 * The bridge contract through the desktop app's whole path: the preload bridge over a stand-in
 * for Electron's IPC (no Electron binary runs here), main's router, and main's channel to the
 * utility process (a structured-clone port pair) to the real FerryApp.
 */
import { pino } from 'pino';
import { bridgeOver } from '../../src/shared/bridge-calls.js';
import { MainEnd, UtilityEnd } from '../../src/main/host-channel.js';
import { routeBridge } from '../../src/main/ipc-router.js';
import { isOwnPage, rendererEntry } from '../../src/main/renderer-page.js';
import { createIpcBridge } from '../../src/preload/ipc-bridge.js';
import { desktopStandIn, IpcStandIn, portPair } from '../helpers/desktop.js';
import { describeBridgeContract } from './contract.js';

describeBridgeContract('preload IPC bridge', async (app) => {
  const log = pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' });
  const ports = portPair();
  const utility = new UtilityEnd(ports.utility, (problem) => log.error(problem), () => undefined);
  // The suite's app keeps its own token file; main's services stand in for the keychain and desktop.
  const main = new MainEnd(ports.main, { secrets: { load: async () => null, save: async () => {}, clear: async () => {} }, desktop: desktopStandIn() }, (problem) =>
    log.error(problem),
  );
  utility.serve(app, async () => {});
  const ipc = new IpcStandIn();
  const entry = rendererEntry(undefined);
  const unroute = routeBridge(ipc.ipcMain, bridgeOver(main), {
    trusted: (url) => isOwnPage(url, entry),
    send: (channel, event, payload) => ipc.send(channel, event, payload),
  });
  return {
    bridge: createIpcBridge(ipc.renderer(entry)),
    validatesArguments: true,
    close: async () => {
      unroute();
      main.close('the test is over');
      utility.close();
      ports.close();
    },
  };
});
