import { expect, test } from "vitest";
import type { CircleSummary } from "../bindings";
import { countByPhase, filterCircles } from "../circles";

function circle(name: string, phase: CircleSummary["phase"], extra: Partial<CircleSummary> = {}): CircleSummary {
  return {
    id: name,
    name,
    course_title: null,
    venue_name: null,
    online: false,
    time_zone: "America/Chicago",
    weekday: "Monday",
    start_time: "18:00",
    duration_minutes: 90,
    status: phase === "draft" ? "draft" : "published",
    meeting_count: 6,
    next_meeting: null,
    learner_count: 0,
    phase,
    ...extra,
  };
}

const circles = [
  circle("Python for Beginners", "active", { venue_name: "Biblioteca Pública Central" }),
  circle("Writing Circle", "upcoming", { course_title: "Creative Writing" }),
  circle("Spanish Conversation", "completed"),
  circle("Draft idea", "draft"),
];

test("search matches name, course and venue, ignoring case and accents", () => {
  expect(filterCircles(circles, "publica", "all").map((c) => c.name)).toEqual(["Python for Beginners"]);
  expect(filterCircles(circles, "CREATIVE", "all").map((c) => c.name)).toEqual(["Writing Circle"]);
  expect(filterCircles(circles, "circle writing", "all").length).toBe(1);
  expect(filterCircles(circles, "", "all").length).toBe(4);
});

test("filters by phase and counts each", () => {
  expect(filterCircles(circles, "", "draft").map((c) => c.name)).toEqual(["Draft idea"]);
  expect(filterCircles(circles, "python", "completed")).toEqual([]);
  expect(countByPhase(circles)).toEqual({ all: 4, active: 1, upcoming: 1, completed: 1, draft: 1 });
});
