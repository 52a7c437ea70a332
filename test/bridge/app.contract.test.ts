/** The bridge contract against FerryApp itself: the engine's side of every transport. */
import { describeBridgeContract } from './contract.js';

describeBridgeContract('FerryApp', async (app) => ({ bridge: app, validatesArguments: false, close: async () => {} }));
