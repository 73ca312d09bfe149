// Whether the record a form was opened on has been changed by someone else
// since: compares the record the draft started from with the one just loaded.
// Pure, so that the rule is tested without a window.

export type RemoteChange<T> = { state: "unchanged" } | { state: "changed"; fields: (keyof T & string)[] };

/** Values compared by content (records are plain JSON from the Rust side). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The fields whose values differ between two versions of a record, in `before`'s order
 *  (then any field only `after` has). */
export function changedFields<T extends object>(before: T, after: T): (keyof T & string)[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])] as (keyof T & string)[];
  return keys.filter((k) => !sameValue(before[k], after[k]));
}

/** "unchanged" when the freshly loaded record is the one the draft started from,
 *  else "changed" with the fields another computer changed. */
export function remoteChange<T extends object>(startedFrom: T, loaded: T): RemoteChange<T> {
  const fields = changedFields(startedFrom, loaded);
  return fields.length === 0 ? { state: "unchanged" } : { state: "changed", fields };
}
