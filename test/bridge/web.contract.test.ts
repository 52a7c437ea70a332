/** The bridge contract through the web bridge: the real HTTP and WebSocket server, the real client over `ws`. */
import { pino } from 'pino';
import WebSocket from 'ws';
import { WebBridgeServer } from '../../src/app/web/web-bridge-server.js';
import { createWebBridge } from '../../src/renderer/bridge/web-bridge.js';
import { describeBridgeContract } from './contract.js';

describeBridgeContract('web bridge', async (app) => {
  const server = await WebBridgeServer.start({ bridge: app, logger: pino({ level: 'silent' }) });
  const bridge = createWebBridge({ baseUrl: server.url, key: server.key, WebSocket });
  await bridge.whenOpen();
  return {
    bridge,
    validatesArguments: true,
    close: async () => {
      bridge.close();
      await server.stop();
    },
  };
});
