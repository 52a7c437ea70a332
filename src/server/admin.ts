/**
 * Account, device and folder administration on top of the journal store: what `ferry admin`
 * and the first start of `ferry serve` do. Each function checks its input and throws
 * AdminError with a message meant for the person at the terminal.
 */
import { hashPassword, hashToken, newDeviceToken, newPassword } from './auth/secrets.js';
import type { Device, JournalStore, User } from './store/types.js';
import type { Role } from '../shared/protocol/messages.js';

export class AdminError extends Error {}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 8;

function checkFolderName(name: string): void {
  if (name.length === 0 || name.length > 128 || /[\u0000-\u001f\u007f/\\]/.test(name) || name.trim() !== name) {
    throw new AdminError(`'${name}' is not a folder name: 1 to 128 characters, no slashes, control characters or outer spaces`);
  }
}

function checkDeviceName(name: string): void {
  if (name.trim().length === 0 || name.length > 128) throw new AdminError('a device name is 1 to 128 characters');
}

async function requireUser(store: JournalStore, name: string): Promise<User> {
  const user = await store.userByName(name);
  if (!user) throw new AdminError(`no user named '${name}'`);
  return user;
}

export async function addUser(store: JournalStore, name: string, password: string, quotaBytes: number | null = null): Promise<User> {
  if (!USER_NAME.test(name)) {
    throw new AdminError(`'${name}' is not a user name: 1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  }
  if (password.length < MIN_PASSWORD_LENGTH) throw new AdminError(`a password has at least ${MIN_PASSWORD_LENGTH} characters`);
  if (await store.userByName(name)) throw new AdminError(`a user named '${name}' exists already`);
  return store.createUser(name, await hashPassword(password), quotaBytes);
}

export async function changePassword(store: JournalStore, name: string, password: string): Promise<void> {
  if (password.length < MIN_PASSWORD_LENGTH) throw new AdminError(`a password has at least ${MIN_PASSWORD_LENGTH} characters`);
  const user = await requireUser(store, name);
  await store.setPassword(user.id, await hashPassword(password));
}

export async function setQuota(store: JournalStore, name: string, quotaBytes: number | null): Promise<void> {
  if (quotaBytes !== null && (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0)) {
    throw new AdminError('a quota is a whole number of bytes, or "none"');
  }
  await store.setQuota((await requireUser(store, name)).id, quotaBytes);
}

/** Creates a device token; the token itself exists only in the return value. */
export async function createToken(store: JournalStore, userName: string, deviceName: string): Promise<{ token: string; device: Device }> {
  checkDeviceName(deviceName);
  const user = await requireUser(store, userName);
  const token = newDeviceToken();
  const device = await store.createDevice(user.id, deviceName.trim(), hashToken(token));
  return { token, device };
}

export async function revokeToken(store: JournalStore, deviceId: number): Promise<void> {
  if (!Number.isSafeInteger(deviceId) || deviceId < 1) throw new AdminError('a device id is a positive whole number');
  if (!(await store.revokeDevice(deviceId))) {
    const known = (await store.listDevices()).some((d) => d.id === deviceId);
    throw new AdminError(known ? `device ${deviceId} is revoked already` : `no device with id ${deviceId}`);
  }
}

export async function createFolder(store: JournalStore, name: string, ownerName: string) {
  checkFolderName(name);
  const owner = await requireUser(store, ownerName);
  if (await store.folderByName(name)) throw new AdminError(`a folder named '${name}' exists already`);
  return store.createFolder(name, owner.id);
}

export async function shareFolder(store: JournalStore, folderName: string, userName: string, role: Role | 'none'): Promise<void> {
  const folder = await store.folderByName(folderName);
  if (!folder) throw new AdminError(`no folder named '${folderName}'`);
  const user = await requireUser(store, userName);
  if (user.id === folder.ownerId) throw new AdminError(`'${userName}' owns '${folderName}'; an owner's role does not change`);
  await store.setMember(folder.id, user.id, role === 'none' ? null : role);
}

export interface FirstStart {
  user: string;
  password: string;
  token: string;
  folder: string;
}

/** On a server with no users at all: an admin, a device token for the first device, and a folder. */
export async function bootstrap(store: JournalStore): Promise<FirstStart | undefined> {
  if ((await store.userCount()) > 0) return undefined;
  const password = newPassword();
  await addUser(store, 'admin', password);
  const { token } = await createToken(store, 'admin', 'first device');
  const folder = await createFolder(store, 'Ferry', 'admin');
  return { user: 'admin', password, token, folder: folder.name };
}
