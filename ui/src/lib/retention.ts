// A team's retention period as typed on the Teams screen, turned into what
// the core is asked to store. The range itself is the core's rule (its
// refusal is translated by its code): anything that is not a whole number
// the command can carry is sent as 0, which the core refuses with the range.

/** Days to send: null turns the period off. */
export function retentionDays(on: boolean, typed: number | string | null | undefined): number | null {
  if (!on) return null;
  const n = typeof typed === "number" ? typed : Number(String(typed ?? "").trim() || "NaN");
  if (!Number.isInteger(n) || n < 0) return 0;
  return Math.min(n, 4294967295);
}
