import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { FerryBridge } from '../../shared/bridge.js';
import type { FerrySnapshot, FerryStore } from './store.js';

interface FerryContextValue {
  bridge: FerryBridge;
  store: FerryStore;
}

const FerryContext = createContext<FerryContextValue | null>(null);

export function FerryProvider({ bridge, store, children }: FerryContextValue & { children: ReactNode }) {
  return <FerryContext.Provider value={{ bridge, store }}>{children}</FerryContext.Provider>;
}

function useFerryContext(): FerryContextValue {
  const value = useContext(FerryContext);
  if (!value) throw new Error('useFerry outside FerryProvider');
  return value;
}

/** The current app and engine state, re-rendering on every change. */
export function useFerry(): FerrySnapshot {
  const { store } = useFerryContext();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

export function useBridge(): FerryBridge {
  return useFerryContext().bridge;
}
