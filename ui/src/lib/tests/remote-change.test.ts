import { expect, test } from "vitest";
import { changedFields, remoteChange, sameValue } from "../remote-change";

const learner = { name: "Ana Souza", email: "ana@example.org", goals: "", consent: true, venue: { name: "Room 3" } };

test("the same record loaded again is unchanged", () => {
  expect(remoteChange(learner, structuredClone(learner))).toEqual({ state: "unchanged" });
});

test("a record changed elsewhere says which fields", () => {
  const loaded = { ...learner, email: "ana@library.org", venue: { name: "Room 4" } };
  expect(remoteChange(learner, loaded)).toEqual({ state: "changed", fields: ["email", "venue"] });
});

test("values are compared by content, including nested ones and nulls", () => {
  expect(sameValue({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
  expect(sameValue({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
  expect(sameValue(null, {})).toBe(false);
  expect(sameValue([], {})).toBe(false);
  expect(sameValue(1, "1")).toBe(false);
  expect(changedFields({ rating: null as number | null }, { rating: 4 })).toEqual(["rating"]);
});
