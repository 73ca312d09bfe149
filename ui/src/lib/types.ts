// Mirrors of the Rust types the desktop shell returns (crates/core).
// Hand-written for now; to be generated from the Rust types later (design.md: "types
// generated from the Rust types"). Keep field names identical to the serde output.

/** circles_core::CircleSummary */
export interface CircleSummary {
  id: string;
  name: string;
  course_title: string | null;
  venue_name: string | null;
  online: boolean;
  /** IANA zone, e.g. "America/Chicago" */
  time_zone: string;
  /** English weekday name, e.g. "Monday" */
  weekday: string | null;
  /** Local "HH:MM" in the circle's time zone */
  start_time: string;
  duration_minutes: number;
  /** "draft" | "published" */
  status: string;
  meeting_count: number;
  /** Local "YYYY-MM-DD HH:MM" in the circle's time zone */
  next_meeting: string | null;
  learner_count: number;
}
