import { expect, test } from "vitest";
import { Draft } from "../draft.svelte";

const saved = { title: "Welcome", minutes: "10", notes: "" };

test("fresh data that did not touch the record leaves the typing alone", () => {
  const draft = new Draft(saved);
  draft.value.notes = "Put the kettle on";
  draft.refresh({ ...saved });
  expect(draft.value.notes).toBe("Put the kettle on");
  expect(draft.theirs).toBeNull();
});

test("a record changed elsewhere while nothing was typed simply shows the new version", () => {
  const draft = new Draft(saved);
  draft.refresh({ ...saved, title: "Welcome and tea" });
  expect(draft.value.title).toBe("Welcome and tea");
  expect(draft.theirs).toBeNull();
});

test("a record changed elsewhere under the typing: keep mine", () => {
  const draft = new Draft(saved);
  draft.value.notes = "Put the kettle on";
  draft.refresh({ ...saved, title: "Welcome and tea" });
  expect(draft.theirs).toEqual({ ...saved, title: "Welcome and tea" });
  expect(draft.changed).toEqual(["title"]);
  expect(draft.value.notes).toBe("Put the kettle on");
  draft.keepMine();
  expect(draft.theirs).toBeNull();
  expect(draft.value).toEqual({ ...saved, notes: "Put the kettle on" });
  // The same remote version again is no news: it was already decided on.
  draft.refresh({ ...saved, title: "Welcome and tea" });
  expect(draft.theirs).toBeNull();
});

test("a record changed elsewhere under the typing: use theirs", () => {
  const draft = new Draft(saved);
  draft.value.notes = "Put the kettle on";
  draft.refresh({ ...saved, minutes: "15" });
  draft.useTheirs();
  expect(draft.value).toEqual({ ...saved, minutes: "15" });
  expect(draft.theirs).toBeNull();
  expect(draft.changed).toEqual([]);
  expect(draft.edited).toBe(false);
});
