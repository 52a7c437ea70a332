import { createRoot } from 'react-dom/client';
import { App, Message } from './App.js';
import { connectBridge } from './bridge/index.js';
import { pickLocale, translate } from './i18n/index.js';
import { FerryProvider } from './state/context.js';
import { createStore } from './state/store.js';
import './styles/app.css';

const root = createRoot(document.getElementById('root')!);
const bridge = connectBridge();
if (!bridge) {
  root.render(<Message text={translate(pickLocale(navigator.languages), 'app.noKey')} />);
} else {
  const store = createStore(bridge);
  void store.reload();
  root.render(
    <FerryProvider bridge={bridge} store={store}>
      <App />
    </FerryProvider>,
  );
}
