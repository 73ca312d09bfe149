import { expect, test } from "vitest";
import type { SyncView } from "../bindings";
import { pendingKey, syncSummary } from "../sync";

const base: SyncView = {
  activity: "idle",
  progress: null,
  server_url: "https://sync.example.org",
  email: "ana@example.org",
  user_name: "Ana",
  pending: 0,
  refused: 0,
  open_conflicts: 0,
  kept_aside: 0,
  kept_aside_changes: [],
  last_success: "2026-11-29T14:02:00Z",
  last_error: null,
  data_revision: 0,
  revoked_circles: 0,
};

test("each sync state says something different", () => {
  expect(syncSummary(base)).toEqual({ key: "app.sync_synced", tone: "ok" });
  expect(syncSummary({ ...base, last_success: null }).key).toBe("app.sync_not_yet");
  expect(syncSummary({ ...base, activity: "offline" }).tone).toBe("bad");
  expect(syncSummary({ ...base, activity: "signed_out" }).key).toBe("app.sync_signed_out");
  expect(syncSummary({ ...base, activity: "syncing", progress: { phase: "pulling", done: 3, total: 10 } })).toEqual({
    key: "app.sync_receiving",
    params: { done: 3, total: 10 },
    tone: "busy",
  });
});

test("changes are waiting while signed in, kept on this computer when signed out, or none", () => {
  const some = { ...base, pending: 3 };
  expect(pendingKey(some)).toBe("app.sync_pending");
  expect(pendingKey({ ...some, activity: "offline" })).toBe("app.sync_pending");
  expect(pendingKey({ ...some, activity: "signed_out" })).toBe("app.sync_pending_local");
  expect(pendingKey({ ...some, pending: 0 })).toBe("app.sync_nothing_pending");
});
