// What a person is typing into a form, kept apart from the record it was opened
// on. When fresh data arrives (a sync applied remote changes), `refresh` keeps
// the typing; if that very record changed, the draft says so and waits for the
// person to keep theirs or take the new version.
import { remoteChange, sameValue } from "./remote-change";

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export class Draft<T extends object> {
  /** What the form shows and the person edits (bind inputs to its fields). */
  value = $state<T>(undefined as unknown as T);
  /** The newer version from another computer while the person decides; else null. */
  theirs = $state<T | null>(null);
  /** Which fields another computer changed (while `theirs` is set). */
  changed = $state<string[]>([]);
  // The record as loaded when editing began (or last reconciled): what "changed" compares with.
  #base: T;

  constructor(record: T) {
    this.#base = copy(record);
    this.value = copy(record);
  }

  /** Start over on a record (opening the form, or after saving). */
  reset(record: T) {
    this.#base = copy(record);
    this.value = copy(record);
    this.theirs = null;
    this.changed = [];
  }

  /** Whether the person has changed anything since the record was loaded. */
  get edited(): boolean {
    return !sameValue($state.snapshot(this.value), this.#base);
  }

  /** The record as just loaded again. Unchanged: nothing happens. Changed while
   *  the person typed nothing: the form simply shows the new version. Changed
   *  under their typing: keep it and offer both. */
  refresh(loaded: T) {
    const change = remoteChange(this.#base, loaded);
    if (change.state === "unchanged") return;
    if (!this.edited) {
      this.reset(loaded);
      return;
    }
    this.theirs = copy(loaded);
    this.changed = change.fields;
  }

  /** Keep what the person typed; saving it will replace the other computer's version. */
  keepMine() {
    if (this.theirs) this.#base = this.theirs;
    this.theirs = null;
    this.changed = [];
  }

  /** Drop the typing and show the other computer's version. */
  useTheirs() {
    if (this.theirs) this.reset(this.theirs);
  }
}
