/**
 * Password sign-in (`POST /v1/login`): a user name and password become a device token. Used by
 * `ferry login` and by the app's "Connect to a server"; the failure reason says what to tell
 * the person. Sign-out (`POST /v1/logout`) revokes the token on the server.
 */
export type LoginFailure = 'unreachable' | 'auth-failed' | 'rate-limited' | 'refused';

export class LoginError extends Error {
  constructor(
    readonly reason: LoginFailure,
    message: string,
  ) {
    super(message);
    this.name = 'LoginError';
  }
}

export interface LoginRequest {
  server: string;
  user: string;
  password: string;
  device: string;
}

export interface LoginResult {
  token: string;
  user: string;
  device: string;
}

const LOGIN_TIMEOUT_MS = 20_000;
/** Sign-out goes on without the server after this: the token is erased here either way. */
const LOGOUT_TIMEOUT_MS = 5_000;

export async function passwordLogin(request: LoginRequest): Promise<LoginResult> {
  let res: Response;
  try {
    res = await fetch(new URL('/v1/login', request.server), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: request.user, password: request.password, device: request.device }),
      signal: AbortSignal.timeout(LOGIN_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new LoginError('unreachable', `cannot reach ${request.server}: ${cause}`);
  }
  const body = (await res.json().catch(() => ({}))) as { token?: unknown; message?: unknown; user?: unknown; device?: { name?: unknown } };
  const message = typeof body.message === 'string' ? body.message : `HTTP ${res.status}`;
  if (res.status === 401) throw new LoginError('auth-failed', message);
  if (res.status === 429) throw new LoginError('rate-limited', message);
  if (!res.ok || typeof body.token !== 'string') throw new LoginError('refused', `${request.server} did not sign this device in (${message}); is it a Ferry server?`);
  return {
    token: body.token,
    user: typeof body.user === 'string' ? body.user : request.user,
    device: typeof body.device?.name === 'string' ? body.device.name : request.device,
  };
}

/**
 * Revokes this device's token on the server, so a copy of it left anywhere stops working.
 * Resolves with why it could not (the caller signs out locally anyway), or undefined.
 */
export async function revokeToken(server: string, token: string): Promise<string | undefined> {
  try {
    const res = await fetch(new URL('/v1/logout', server), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(LOGOUT_TIMEOUT_MS),
    });
    await res.body?.cancel();
    // 401: the token was revoked already (by an admin, or an earlier sign-out).
    if (res.ok || res.status === 401) return undefined;
    return `${server} answered HTTP ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return `cannot reach ${server}: ${cause}`;
  }
}
