// Generated from the Rust types by src-tauri/src/bindings.rs. Do not edit:
// run `UPDATE_BINDINGS=1 cargo test -p circles-app bindings` after changing them.

export type Circle = { id: string, created_at: string, name: string, course_id: string | null, description: string, venue: Venue, online: boolean, meeting_link: string, language: string, 
/**
 * IANA zone the meeting times are in.
 */
time_zone: string, 
/**
 * Local "HH:MM" of a meeting's start, the default for new meetings.
 */
start_time: string, duration_minutes: number, signup_limit: number | null, signup_open: boolean, signup_question: string, status: CircleStatus, did_not_happen: boolean, team_id: string | null, 
/**
 * Hours before each meeting the server sends learners its reminder;
 * 0 = no reminders.
 */
reminder_hours: number, };

export type CircleInput = { name: string, course_id: string | null, description: string, venue: Venue, online: boolean, meeting_link: string, language: string, 
/**
 * IANA zone the meeting times are in.
 */
time_zone: string, 
/**
 * Local "HH:MM" of a meeting's start, the default for new meetings.
 */
start_time: string, duration_minutes: number, signup_limit: number | null, signup_open: boolean, signup_question: string, status: CircleStatus, did_not_happen: boolean, team_id: string | null, 
/**
 * Hours before each meeting the server sends learners its reminder;
 * 0 = no reminders.
 */
reminder_hours: number, };

export type CircleStatus = "draft" | "published";

export type CirclePhase = "draft" | "upcoming" | "active" | "completed";

export type CircleSummary = { id: string, name: string, course_title: string | null, venue_name: string | null, online: boolean, time_zone: string, 
/**
 * The weekday of the first scheduled meeting, e.g. "Monday".
 */
weekday: string | null, start_time: string, duration_minutes: number, status: string, meeting_count: number, 
/**
 * Local "YYYY-MM-DD HH:MM" of the next meeting not yet over.
 */
next_meeting: string | null, learner_count: number, 
/**
 * Where the circle is in its life, for the list's filters.
 */
phase: CirclePhase, };

export type Venue = { name: string, address: string, details: string, website: string, city: string, region: string, country: string, latitude: number | null, longitude: number | null, };

export type WeeklyRule = { 
/**
 * The first meeting's local date; its weekday is the meeting day.
 */
first_date: string, 
/**
 * How many meetings, [`MIN_MEETINGS`]..=[`MAX_MEETINGS`].
 */
count: number, };

export type Course = { id: string, created_at: string, title: string, provider: string, link: string, caption: string, language: string, topics: Array<string>, license: string, format: string, archived: boolean, };

export type CourseInput = { title: string, provider: string, link: string, caption: string, language: string, topics: Array<string>, license: string, format: string, archived: boolean, };

export type Meeting = { id: string, circle_id: string, local_date: string, 
/**
 * "HH:MM" in the circle's zone.
 */
local_time: string, status: MeetingStatus, notes: string, head_count: number | null, 
/**
 * The facilitator's words for this meeting's reminder ('' = none).
 */
reminder_message: string, 
/**
 * 1-based position among the circle's meetings that are not cancelled
 * (0 for a cancelled one).
 */
number: number, starts_at: string, ends_at: string, 
/**
 * How the local time was mapped on a daylight-saving day.
 */
time_resolution: LocalTimeResolution, };

export type MeetingStatus = "scheduled" | "held" | "cancelled";

export type UpcomingMeeting = { circle_id: string, circle_name: string, time_zone: string, 
/**
 * The meeting's date is today in the circle's zone.
 */
is_today: boolean, meeting: Meeting, };

export type LocalTimeResolution = "exact" | "shifted_forward_over_gap" | "ambiguous_earlier_chosen";

export type CircleMessages = { reminder_hours: number, 
/**
 * Reminders still to go out, soonest first.
 */
planned: Array<PlannedReminder>, messages: Array<CircleMessage>, 
/**
 * Newest first.
 */
deliveries: Array<Delivery>, };

export type CircleMessage = { id: string, circle_id: string, subject: string, body: string, created_at: string, 
/**
 * Not yet on the server: it goes out at the next sync.
 */
waiting_for_sync: boolean, };

export type PlannedReminder = { meeting_id: string, meeting_number: number, 
/**
 * The meeting's local date ("2026-12-08") and time, in the circle's zone.
 */
meeting_date: string, meeting_time: string, 
/**
 * When it goes out, as an instant and as the circle's local date and time.
 */
send_at: string, send_date: string, send_time: string, 
/**
 * The facilitator's words for it ('' = none).
 */
message: string, 
/**
 * How many learners it goes to, by email and by SMS.
 */
emails: number, texts: number, };

export type Delivery = { learner_id: string, learner_name: string, meeting_id: string | null, message_id: string | null, 
/**
 * reminder, notice, message, signup, waitlist_place.
 */
kind: string, 
/**
 * email, sms.
 */
channel: string, 
/**
 * sent, failed.
 */
status: string, 
/**
 * Why it failed: bad_address, refused, gave_up ('' when sent).
 */
problem: string, at: string, };

export type MeetingRsvp = { learner_id: string, 
/**
 * yes, no.
 */
answer: string, answered_at: string, };

export type Channel = "email" | "sms";

export type Learner = { id: string, circle_id: string, 
/**
 * Erased at someone's request: the personal fields are blank for good.
 */
erased: boolean, created_at: string, 
/**
 * "online": signed up on the circle's public page; "": typed in by a facilitator.
 */
signup_source: string, 
/**
 * "" when they hold a place; else when the server put them on the waitlist.
 */
waitlisted_at: string, 
/**
 * Their number on the waitlist (1 = next to get a place), if they wait.
 */
waitlist_position: number | null, name: string, email: string, 
/**
 * E.164 ("+13125550143"); separators typed by people are removed.
 */
mobile: string, goals: string, support_needs: string, 
/**
 * The answer to the circle's signup question.
 */
question_answer: string, 
/**
 * Agreed to be contacted about the circle.
 */
consent: boolean, email_opt_out: boolean, sms_opt_out: boolean, 
/**
 * Joined on the night rather than through signup.
 */
walk_in: boolean, withdrawn: boolean, };

export type LearnerInput = { name: string, email: string, 
/**
 * E.164 ("+13125550143"); separators typed by people are removed.
 */
mobile: string, goals: string, support_needs: string, 
/**
 * The answer to the circle's signup question.
 */
question_answer: string, 
/**
 * Agreed to be contacted about the circle.
 */
consent: boolean, email_opt_out: boolean, sms_opt_out: boolean, 
/**
 * Joined on the night rather than through signup.
 */
walk_in: boolean, withdrawn: boolean, };

export type Mark = "present" | "late" | "excused" | "absent";

export type AttendanceMark = { meeting_id: string, learner_id: string, mark: Mark, };

export type RosterEntry = { learner: Learner, mark: Mark | null, 
/**
 * "yes" (said they're coming) or "no" (said they can't come), from the
 * learner's link (`meeting_rsvps`, written by the server, pulled here).
 */
rsvp: string | null, };

export type AttendanceGrid = { meetings: Array<GridMeeting>, rows: Array<GridRow>, totals: MarkCounts, rate: number | null, };

export type GridMeeting = { meeting_id: string, number: number, local_date: string, status: MeetingStatus, head_count: number | null, counts: MarkCounts, rate: number | null, };

export type GridRow = { learner_id: string, name: string, withdrawn: boolean, walk_in: boolean, 
/**
 * In the order of `AttendanceGrid::meetings`.
 */
marks: Array<Mark | null>, counts: MarkCounts, rate: number | null, };

export type MeetingGuide = { meeting_id: string, circle_id: string, 
/**
 * 1-based position among the circle's meetings that are not cancelled
 * (0 for a cancelled meeting).
 */
number: number, 
/**
 * The kind of meeting its position makes it now (None when cancelled).
 */
kind: GuideKind | null, sections: Array<GuideSection>, 
/**
 * Edited by a person (templates never overwrite it).
 */
customized: boolean, 
/**
 * What the sections were made from: "builtin/en/first@1",
 * "template/<id>/middle", or "" (typed by a person, or older data).
 */
template: string, 
/**
 * Whether the guide shown is the stored one; false when it is shown as
 * its template makes it because none was written yet, or because the
 * stored one (not edited by a person) was made for another position
 * (see `Store::derive_circle_guides`).
 */
stored: boolean, total_minutes: number, 
/**
 * The circle's meeting length.
 */
duration_minutes: number, 
/**
 * `total_minutes - duration_minutes`: positive when the plan runs over.
 */
over_by_minutes: number, 
/**
 * Set when the plan runs over the meeting, or leaves more than
 * [`UNDER_TOLERANCE_MINUTES`] unplanned.
 */
timing_warning: string | null, 
/**
 * The "note for next week" from the previous meeting's feedback.
 */
note_from_last_meeting: CarriedNote | null, };

export type GuideSection = { title: string, minutes: number, notes: string, };

export type GuideEdit = { "op": "edit", index: number, title: string | null, minutes: number | null, notes: string | null, } | { "op": "move", from: number, to: number, } | { "op": "add", at: number | null, section: GuideSection, } | { "op": "remove", index: number, } | { "op": "replace", sections: Array<GuideSection>, };

export type CarriedNote = { meeting_id: string, local_date: string, text: string, };

export type GuideKind = "first" | "middle" | "last";

export type FeedbackForm = { circle_id: string, circle_name: string, language: string, meeting: Meeting, 
/**
 * The meeting's end has passed.
 */
ended: boolean, feedback: MeetingFeedback | null, prompts: Array<ReflectionPrompt>, attendance: MarkCounts, 
/**
 * Learners on the roster with no mark yet.
 */
unmarked: number, head_count: number | null, };

export type FeedbackInput = { 
/**
 * "How did it go?", 1 (badly) to 5 (very well).
 */
rating: number | null, reflection: string, 
/**
 * The prompt the reflection answers.
 */
reflection_prompt: string, 
/**
 * Shown in the next meeting's guide.
 */
next_week_note: string, };

export type MeetingFeedback = { meeting_id: string, 
/**
 * "How did it go?", 1 (badly) to 5 (very well).
 */
rating: number | null, reflection: string, 
/**
 * The prompt the reflection answers.
 */
reflection_prompt: string, 
/**
 * Shown in the next meeting's guide.
 */
next_week_note: string, };

export type ReflectionPrompt = { 
/**
 * Stable across languages: "went-well", "change", ...
 */
id: string, text: string, };

export type AwaitingFeedback = { circle_id: string, circle_name: string, time_zone: string, meeting: Meeting, };

export type WrapUp = { circle_id: string, 
/**
 * None until the circle is wrapped up.
 */
outcome: CircleOutcome | null, facilitator_goal: string, goal_rating: number | null, course_rating: number | null, course_rating_reason: string, 
/**
 * When the circle's last meeting that is not cancelled ends.
 */
last_meeting_ends_at: string | null, 
/**
 * The last meeting has ended: the circle can be marked completed.
 */
can_complete: boolean, };

export type WrapUpInput = { outcome: CircleOutcome, 
/**
 * What the facilitator wanted to achieve with this circle.
 */
facilitator_goal: string, 
/**
 * How well they achieved it, 1 (not at all) to 5 (fully); required for
 * a completed circle.
 */
goal_rating: number | null, 
/**
 * How good the course was for a learning circle, 1-5; required for a
 * completed circle.
 */
course_rating: number | null, course_rating_reason: string, };

export type CircleOutcome = "completed" | "did_not_happen";

export type CircleReport = { format_version: number, circle: CircleInfo, counting: Counting, summary: CircleFigures, 
/**
 * Meetings that are not cancelled, in date order: attendance per
 * meeting and ratings over time.
 */
meetings: Array<MeetingFigures>, 
/**
 * Cancelled meetings, in date order (left out of every figure).
 */
cancelled: Array<CancelledMeeting>, wrap_up: WrapUpFigures, };

export type CircleInfo = { id: string, name: string, course_title: string | null, team_name: string | null, 
/**
 * "Online", the venue name, or "No venue".
 */
venue: string, city: string, online: boolean, language: string, time_zone: string, start_time: string, duration_minutes: number, 
/**
 * Names, alphabetically.
 */
facilitators: Array<string>, 
/**
 * Local dates of the first and last meetings that are not cancelled.
 */
first_date: string | null, last_date: string | null, };

export type CircleFigures = { 
/**
 * Meetings that are not cancelled.
 */
meetings_scheduled: number, meetings_held: number, meetings_cancelled: number, 
/**
 * Everyone who signed up or walked in, withdrawn learners included.
 */
learners: number, learners_withdrawn: number, walk_ins: number, 
/**
 * Learners with at least one attended mark.
 */
learners_attended: number, 
/**
 * Learners who attended at least half the held meetings (None for a
 * circle that only counts heads, or before any meeting was held).
 */
learners_at_least_half: number | null, attendances: number, head_count_attendances: number, marks: MarkCounts, attendance_rate: number | null, average_attendance: number | null, first_meeting_attendance: number | null, last_meeting_attendance: number | null, 
/**
 * Last held meeting's attendance ÷ first held meeting's.
 */
retention: number | null, 
/**
 * Learners who attended both the first and the last held meeting.
 */
learners_retained: number | null, ratings: number, average_rating: number | null, };

export type MeetingFigures = { meeting_id: string, 
/**
 * 1-based among meetings that are not cancelled.
 */
number: number, local_date: string, local_time: string, status: MeetingStatus, held: boolean, marks: MarkCounts, head_count: number | null, 
/**
 * Attended marks, else the head count; None when not held.
 */
attendance: number | null, 
/**
 * The after-meeting rating, 1-5.
 */
rating: number | null, };

export type CancelledMeeting = { meeting_id: string, local_date: string, };

export type WrapUpFigures = { outcome: CircleOutcome | null, facilitator_goal: string, goal_rating: number | null, course_rating: number | null, course_rating_reason: string, };

export type Counting = "per_learner" | "head_count" | "mixed" | "none";

export type MarkCounts = { present: number, late: number, excused: number, absent: number, };

export type TeamReport = { format_version: number, team: Team, from: string, to: string, totals: Figures, 
/**
 * Team circles marked "did not happen" that had a meeting date in the
 * period (left out of every other figure).
 */
circles_did_not_happen: number, 
/**
 * Learners (withdrawn included) of the circles run in the period.
 */
learners_signed_up: number, 
/**
 * Every month of the period, in order, empty ones included.
 */
by_month: Array<MonthFigures>, 
/**
 * Venues that had a meeting date in the period, by name.
 */
by_venue: Array<VenueFigures>, 
/**
 * The team's circles that had a meeting date in the period, by name;
 * one that did not happen is listed with empty figures.
 */
circles: Array<CircleLine>, 
/**
 * When this computer last synced (RFC 3339): the report includes
 * changes synced up to then, and what other laptops have not synced
 * since is not in it. None: never synced, only this computer's data.
 */
synced_up_to: string | null, 
/**
 * Whose laptops had not synced lately, as the server said when the
 * report was made (`sync::team_admin::check_laptops`); computed from
 * this computer's data alone, "not checked".
 */
laptops: LaptopCheck, };

export type LaptopCheck = { 
/**
 * When the server was asked (RFC 3339); None when it could not be.
 */
checked_at: string | null, 
/**
 * Why it was not asked (offline, not signed in, not an organizer).
 */
not_checked: string | null, stale_after_days: number, 
/**
 * Members whose laptops last synced more than `stale_after_days` before
 * `checked_at`, or never, by name.
 */
behind: Array<LaptopBehind>, };

export type LaptopBehind = { name: string, 
/**
 * RFC 3339; None: never synced.
 */
last_sync_at: string | null, };

export type Team = { id: string, name: string, };

export type Figures = { circles_run: number, meetings_held: number, meetings_cancelled: number, attendances: number, head_count_attendances: number, marks: MarkCounts, attendance_rate: number | null, average_attendance: number | null, unique_learners: number, ratings: number, average_rating: number | null, };

export type MonthFigures = { 
/**
 * "2026-03"
 */
month: string, figures: Figures, };

export type VenueFigures = { venue: string, city: string, figures: Figures, };

export type CircleLine = { circle_id: string, name: string, venue: string, outcome: CircleOutcome | null, figures: Figures, };

export type Facilitator = { id: string, name: string, email: string, };

export type RefusedLocalChange = { change_id: string, table: string, 
/**
 * What the row is ("learner", "meeting"...).
 */
entity: string, row_id: string, field: string, 
/**
 * The value it set (JSON).
 */
value: unknown, 
/**
 * When it was made here (RFC 3339, from its clock).
 */
made_at: string, };

export type Settings = { 
/**
 * "en", "es" or "pt"; empty: follow the system's language.
 */
language: string, 
/**
 * The server offered on the sign-in form, e.g. "https://sync.example.org".
 */
server_url: string, };

export type FirstRun = { 
/**
 * This store holds the demo (never signs in or syncs).
 */
demo: boolean, 
/**
 * Show the welcome screen: no circles, no account, not a demo, and the
 * person has not chosen to start without an account yet.
 */
welcome: boolean, };

export type AppLock = { 
/**
 * Whether a lock is set; the rest is about it.
 */
kind: LockKind | null, 
/**
 * Minutes without input after which the window locks.
 */
idle_minutes: number, 
/**
 * Wrong tries in a row so far.
 */
failed_tries: number, 
/**
 * While a wait is running, when the next try is allowed (RFC 3339, UTC).
 */
wait_until: string | null, };

export type LockKind = "pin" | "passphrase";

export type Rule = { "code": "required" } | { "code": "too_long", length: number, max: number, } | { "code": "control_characters" } | { "code": "email" } | { "code": "mobile" } | { "code": "url" } | { "code": "language" } | { "code": "time_zone" } | { "code": "time" } | { "code": "date" } | { "code": "weekday" } | { "code": "out_of_range", min: number, max: number, } | { "code": "duration", min: number, max: number, } | { "code": "meeting_count", min: number, max: number, } | { "code": "choice" } | { "code": "reference" } | { "code": "id" } | { "code": "duplicate" } | { "code": "state" } | { "code": "plain_http" };

export type UiError = { kind: UiErrorKind, 
/**
 * The core's sentence, in English: shown as is when the UI has no
 * translation for `rule`.
 */
message: string, rule: Rule | null, entity: string | null, field: string | null, 
/**
 * For a fault of the store itself, its stable code (`store_read_only`,
 * `store_disk_full`, `store_damaged`, `store_not_a_database`): each
 * has its own way out on the error screen.
 */
fault: string | null, };

export type UiErrorKind = "invalid" | "not_found" | "store" | "sync" | "demo" | "lock" | "internal";

export type SyncView = { activity: SyncActivity, progress: SyncProgress | null, server_url: string | null, email: string | null, user_name: string | null, 
/**
 * Local changes not yet acknowledged by the server.
 */
pending: number, 
/**
 * Local changes the server refused for good (kept here).
 */
refused: number, open_conflicts: number, 
/**
 * Pulled changes this laptop could not apply yet (the first few listed).
 */
kept_aside: number, kept_aside_changes: Array<KeptAsideView>, 
/**
 * RFC 3339 time of the last successful sync.
 */
last_success: string | null, last_error: string | null, 
/**
 * Goes up whenever a sync changed local data: screens reload.
 */
data_revision: number, 
/**
 * Circles removed from this computer by the latest sync, because this
 * person no longer has access to them (0: none).
 */
revoked_circles: number, };

export type SyncActivity = "signed_out" | "idle" | "syncing" | "offline" | "error";

export type SyncProgress = { 
/**
 * "pushing" or "pulling".
 */
phase: string, done: number, total: number, };

export type KeptAsideView = { table: string, row_id: string, field: string, kind: KeptAsideKind, 
/**
 * The core's own words (English), shown as a detail.
 */
reason: string, attempts: number, 
/**
 * RFC 3339 time it was first kept aside.
 */
since: string, };

export type KeptAsideKind = "missing_reference" | "waits_for_reference" | "invalid" | "future_clock";

export type CircleDetail = { circle: Circle, course_title: string | null, meetings: Array<Meeting>, learners: Array<Learner>, grid: AttendanceGrid, 
/**
 * Feedback given so far, one per meeting that has any.
 */
feedback: Array<MeetingFeedback>, wrap_up: WrapUp, };

export type TeamChoice = { 
/**
 * The person's teams (every team here when this computer never signed in).
 */
teams: Array<Team>, 
/**
 * A new circle's team: the person's one team, when they are in exactly one.
 */
default_team: string | null, };

export type CircleFacilitators = { listed: Array<Facilitator>, 
/**
 * The circle's team's facilitators not listed yet.
 */
candidates: Array<Facilitator>, };

export type TeamOverview = { team: Team, members: Array<TeamMember>, circles: Array<TeamCircle>, 
/**
 * Whether the signed-in person organizes it (its actions are shown).
 */
organizer: boolean, 
/**
 * Learners are anonymized this many days after a circle ends (None: kept
 * until erased by hand); organizers set it.
 */
anonymize_after_days: number | null, 
/**
 * What the team's public signup forms say beside the consent box: a
 * link or a short text ("" = the server's default sentence).
 */
privacy_notice: string, };

export type TeamCircle = { id: string, name: string, facilitators: Array<Facilitator>, };

export type TeamMember = { facilitator: Facilitator, role: TeamRole, };

export type TeamRole = "organizer" | "member";

export type TeamMembers = { team_id: string, name: string, members: Array<Member>, invitations: Array<Invitation>, };

export type Member = { user_id: string, name: string, email: string, role: string, 
/**
 * The newest use of any of their tokens: their last sync, roughly.
 */
last_sync_at: string | null, };

export type Invitation = { id: string, team_id: string, email: string | null, circle_id: string | null, role: string, invited_by: string, created_at: string, expires_at: string, 
/**
 * The link to copy (only for an invitation without an email, and only
 * in the answer that made its token).
 */
link?: string | null, };

export type TeamOnline = { online: TeamMembers, 
/**
 * Members whose laptops are behind (`laptop_behind`), by user id.
 */
behind: Array<string>, stale_after_days: number, };

export type RosterView = { circle_id: string, circle_name: string, time_zone: string, meeting: Meeting, entries: Array<RosterEntry>, };

export type ConflictView = { id: string, table: string, row_id: string, field: string, 
/**
 * What the row is, e.g. the learner's or circle's name.
 */
row_label: string, lost_value: string, won_value: string, detected_at: string, };

export type UpdateNotice = { latest_version: string, download_url: string, 
/**
 * This app's own version.
 */
running_version: string, };

export type RemovedView = { signed_out: boolean, 
/**
 * The server revoked the token (false: offline, or not signed in).
 */
revoked: boolean, files: number, };

export type AppLockStatus = { lock: AppLock, 
/**
 * The window is locked now: show the lock screen, nothing else.
 */
locked: boolean, 
/**
 * The interface language chosen in Settings, so the lock screen speaks
 * it while every other read is refused ("" for the system's).
 */
language: string, 
/**
 * The rules' figures, for the UI's sentences (core's constants).
 */
limits: AppLockLimits, };

export type AppLockLimits = { min_pin_digits: number, max_pin_digits: number, min_passphrase_chars: number, min_idle_minutes: number, max_idle_minutes: number, };
