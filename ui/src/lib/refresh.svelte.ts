// Remote changes arriving while a screen is open. The app notes each sync's
// data revision here; screens re-run their loaders in place (never re-mounted,
// so nothing typed is lost).
import { untrack } from "svelte";

const revision = $state({ value: 0 });

/** Called with every sync state: a new revision means a sync applied remote changes. */
export function noteDataRevision(value: number) {
  if (value !== revision.value) revision.value = value;
}

/** During a component's set-up: run `reload` each time remote changes are applied
 *  after this point (not on mount: the screen loads itself then). */
export function onRemoteChanges(reload: () => unknown) {
  let seen = untrack(() => revision.value);
  $effect(() => {
    const now = revision.value;
    if (now === seen) return;
    seen = now;
    untrack(reload);
  });
}
