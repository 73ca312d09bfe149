import { expect, test } from "vitest";
import type { PlannedReminder } from "../bindings";
import { catalog, translate } from "../i18n.svelte";
import { audienceLine, channelText, clockTime, dayAndDate, goesOutLine, kindText, plannedFor, resultText, zoneDiffers } from "../outgoing";

const tr = (lang: string) => (key: string, params?: Record<string, string | number>) =>
  translate(catalog[lang], catalog.en, lang, key, params);

function reminder(over: Partial<PlannedReminder> = {}): PlannedReminder {
  return {
    meeting_id: "m1",
    meeting_number: 1,
    meeting_date: "2026-12-08",
    meeting_time: "18:30",
    send_at: "2026-12-07T00:30:00Z",
    send_date: "2026-12-06",
    send_time: "18:30",
    message: "",
    emails: 2,
    texts: 1,
    ...over,
  };
}

test("the goes-out line names both days with their weekdays, in the interface language", () => {
  expect(goesOutLine(reminder(), "en", tr("en"))).toBe(
    "The reminder for Tuesday, December 8 goes out Sunday, December 6 at 6:30 PM",
  );
  const es = goesOutLine(reminder(), "es", tr("es"));
  expect(es).toContain("martes, 8 de diciembre");
  expect(es).toContain("domingo, 6 de diciembre");
  expect(es).toContain("18:30");
  expect(goesOutLine(reminder(), "pt", tr("pt"))).toContain("domingo, 6 de dezembro");
});

test("dates are the calendar date given, whatever the laptop's zone; bad input is shown as is", () => {
  expect(dayAndDate("2026-01-01", "en")).toBe("Thursday, January 1");
  expect(dayAndDate("not a date", "en")).toBe("not a date");
  expect(clockTime("09:05", "pt")).toMatch(/^0?9:05$/);
  expect(clockTime("18:30", "en")).toBe("6:30 PM");
  expect(clockTime("25h", "en")).toBe("25h");
});

test("who it goes to, or that nobody agreed to be contacted", () => {
  const t = tr("en");
  expect(audienceLine({ emails: 0, texts: 0 }, t)).toBe("No learner has agreed to be contacted.");
  expect(audienceLine({ emails: 1, texts: 0 }, t)).toBe("To 1 learner by email.");
  expect(audienceLine({ emails: 3, texts: 0 }, t)).toBe("To 3 learners by email.");
  expect(audienceLine({ emails: 0, texts: 2 }, t)).toBe("To 2 learners by text message.");
  expect(audienceLine({ emails: 2, texts: 1 }, t)).toBe("To 2 by email and 1 by text message.");
});

test("the circle's zone is said only when its clock differs from the computer's", () => {
  const at = new Date("2026-12-03T12:00:00Z");
  expect(zoneDiffers("America/Chicago", "America/Chicago", at)).toBe(false);
  // Same clock, other name.
  expect(zoneDiffers("Europe/Lisbon", "Europe/London", at)).toBe(false);
  expect(zoneDiffers("America/Chicago", "Europe/Lisbon", at)).toBe(true);
  expect(zoneDiffers("Nowhere/Else", "Europe/Lisbon", at)).toBe(true);
});

test("what was sent, how, and failures with their reason in words", () => {
  const t = tr("en");
  expect(kindText("reminder", t)).toBe("Reminder");
  expect(kindText("waitlist_place", t)).toBe("Place from the waitlist");
  expect(kindText("postcard", t)).toBe("postcard");
  expect(channelText("sms", t)).toBe("Text message");
  expect(resultText({ status: "sent", problem: "" }, t)).toBe("Sent");
  expect(resultText({ status: "failed", problem: "bad_address" }, t)).toBe("Not sent: bad address");
  expect(resultText({ status: "failed", problem: "refused" }, t)).toBe("Not sent: refused by the mail server");
  expect(resultText({ status: "failed", problem: "gave_up" }, t)).toBe("Not sent: gave up after many tries");
  expect(resultText({ status: "failed", problem: "" }, t)).toBe("Not sent");
  expect(resultText({ status: "failed", problem: "bad_address" }, tr("es"))).toBe("No enviado: dirección incorrecta");
});

test("a meeting's planned reminder", () => {
  const planned = [reminder(), reminder({ meeting_id: "m2", meeting_number: 2 })];
  expect(plannedFor(planned, "m2")?.meeting_number).toBe(2);
  expect(plannedFor(planned, "m3")).toBeNull();
});
