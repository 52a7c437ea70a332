import type { BridgeError, BridgeErrorCode } from '../../shared/bridge.js';
import { useI18n, type MessageKey } from '../i18n/index.js';

const CODE_KEYS: Record<BridgeErrorCode, MessageKey> = {
  'invalid-argument': 'error.invalidArgument',
  unsupported: 'error.unsupported',
  'not-set-up': 'error.notSetUp',
  'already-set-up': 'error.alreadySetUp',
  unreachable: 'error.unreachable',
  'auth-failed': 'error.authFailed',
  'not-found': 'error.notFound',
  internal: 'error.internal',
};

/** A failed command, said in the UI's language, with the host's own words as the detail. */
export function ErrorText({ error }: { error: BridgeError | null }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <p className="error-text" role="alert">
      {t(CODE_KEYS[error.code])} <span className="error-detail">{error.message}</span>
    </p>
  );
}
