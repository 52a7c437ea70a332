/**
 * The renderer takes only types from src/shared/protocol (a history entry's shape), but
 * type-checking them reaches the schemas' one Node call. This declares just that call, so the
 * renderer's own code still cannot use Node.
 */
declare const Buffer: { byteLength(text: string): number };
