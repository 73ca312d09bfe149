// What the sync badge says for a sync state: one translated line and a tone.
import type { SyncView } from "./bindings";

export interface SyncSummary {
  key: string;
  params?: Record<string, string | number>;
  tone: "ok" | "busy" | "bad" | "off";
}

export function syncSummary(view: SyncView): SyncSummary {
  switch (view.activity) {
    case "signed_out":
      return { key: "app.sync_signed_out", tone: "off" };
    case "syncing":
      return view.progress
        ? {
            key: view.progress.phase === "pushing" ? "app.sync_sending" : "app.sync_receiving",
            params: { done: view.progress.done, total: view.progress.total },
            tone: "busy",
          }
        : { key: "app.sync_syncing", tone: "busy" };
    case "offline":
      return { key: "app.sync_offline", tone: "bad" };
    case "error":
      return { key: "app.sync_error", tone: "bad" };
    case "idle":
      return view.last_success ? { key: "app.sync_synced", tone: "ok" } : { key: "app.sync_not_yet", tone: "off" };
  }
}

// How the changes not yet on the server are described: none, waiting to
// go, or, with no account to sync to, kept on this computer only.
export function pendingKey(view: SyncView): string {
  if (view.pending === 0) return "app.sync_nothing_pending";
  return view.activity === "signed_out" ? "app.sync_pending_local" : "app.sync_pending";
}
