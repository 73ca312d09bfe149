// The app lock's status, kept where the window (lock screen, idle timer,
// "Lock now") and Settings both read it. Set from the `app_lock_status`
// command and from every lock command's answer.
import { appLockStatus } from "./api";
import type { AppLockStatus } from "./bindings";

export const appLock = $state({ status: null as AppLockStatus | null });

/** Ask the app for the lock's status (null when the store cannot be opened). */
export async function readAppLock(): Promise<AppLockStatus | null> {
  appLock.status = await appLockStatus().catch(() => null);
  return appLock.status;
}
