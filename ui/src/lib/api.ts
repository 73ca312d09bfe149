// The one place the UI talks to the Rust side. Every screen goes through here so that
// command names, argument names and error handling live once. Types come from
// bindings.ts, generated from the Rust types (src-tauri/src/bindings.rs).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AppLockStatus,
  AttendanceGrid,
  AwaitingFeedback,
  CircleDetail,
  CircleFacilitators,
  CircleInput,
  CircleMessages,
  CircleReport,
  CircleSummary,
  ConflictView,
  Course,
  CourseInput,
  FeedbackForm,
  FeedbackInput,
  FirstRun,
  GuideEdit,
  Invitation,
  Learner,
  LearnerInput,
  LockKind,
  Mark,
  MeetingGuide,
  RosterView,
  Settings,
  SyncView,
  RefusedLocalChange,
  RemovedView,
  Team,
  TeamChoice,
  TeamOnline,
  TeamOverview,
  TeamReport,
  TeamRole,
  UpdateNotice,
  UiError,
  UpcomingMeeting,
  WeeklyRule,
  WrapUp,
  WrapUpInput,
} from "./bindings";

export type { AttendanceGrid };

/** A failed command: `error` says what and, for validation, which field. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly error: UiError,
  ) {
    super(error.message);
    this.name = "CommandError";
  }
  get field(): string | null {
    return this.error.field;
  }
}

function asUiError(e: unknown): UiError {
  if (e && typeof e === "object" && "message" in e && "kind" in e) return e as UiError;
  const message = typeof e === "string" ? e : e instanceof Error ? e.message : JSON.stringify(e);
  return { kind: "internal", message, rule: null, entity: null, field: null, fault: null };
}

// Told when any command is refused because the window is locked (the app
// lock's `app_locked`): the window then shows the lock screen (App.svelte).
let lockedHandler: (() => void) | null = null;
export function onAppLocked(handler: () => void) {
  lockedHandler = handler;
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    const error = new CommandError(command, asUiError(e));
    if (error.error.fault === "app_locked") lockedHandler?.();
    throw error;
  }
}

// Circles and today
export const listCircles = () => call<CircleSummary[]>("list_circles");
export const today = () => call<UpcomingMeeting[]>("today");
export const circleDetail = (id: string) => call<CircleDetail>("circle_detail", { id });
export const createCircle = (input: CircleInput, schedule: WeeklyRule | null) =>
  call<string>("create_circle", { input, schedule });
export const updateCircle = (id: string, input: CircleInput) => call<void>("update_circle", { id, input });
export const teamChoice = () => call<TeamChoice>("team_choice");
export const circleFacilitators = (circleId: string) => call<CircleFacilitators>("circle_facilitators", { circleId });
export const addCircleFacilitator = (circleId: string, facilitatorId: string) =>
  call<CircleFacilitators>("add_circle_facilitator", { circleId, facilitatorId });
export const removeCircleFacilitator = (circleId: string, facilitatorId: string) =>
  call<CircleFacilitators>("remove_circle_facilitator", { circleId, facilitatorId });
export const copyCircle = (circleId: string, name: string, schedule: WeeklyRule) =>
  call<string>("copy_circle", { circleId, name, schedule });

// Schedule
export const generateSchedule = (circleId: string, rule: WeeklyRule, replace: boolean) =>
  call<string[]>("generate_schedule", { circleId, rule, replace });
export const addMeeting = (circleId: string, date: string, time: string | null) =>
  call<string>("add_meeting", { circleId, date, time });
export const moveMeeting = (id: string, date: string, time: string | null) =>
  call<void>("move_meeting", { id, date, time });
export const setMeetingCancelled = (id: string, cancelled: boolean) =>
  call<void>("set_meeting_cancelled", { id, cancelled });
export const removeMeeting = (id: string) => call<void>("remove_meeting", { id });

// What learners receive: planned reminders, messages to the circle (sent after sync), what was sent.
export const circleMessages = (circleId: string) => call<CircleMessages>("circle_messages", { circleId });
export const sendCircleMessage = (circleId: string, subject: string, body: string) =>
  call<string>("send_circle_message", { circleId, subject, body });
export const setReminderMessage = (meetingId: string, message: string) =>
  call<void>("set_reminder_message", { meetingId, message });

// Attendance
export const roster = (meetingId: string) => call<RosterView>("roster", { meetingId });
export const setMark = (meetingId: string, learnerId: string, mark: Mark | null) =>
  call<void>("set_mark", { meetingId, learnerId, mark });
export const addWalkIn = (meetingId: string, name: string) => call<string>("add_walk_in", { meetingId, name });
export const setHeadCount = (meetingId: string, count: number | null) =>
  call<void>("set_head_count", { meetingId, count });

// Learners
export const learners = (circleId: string) => call<Learner[]>("learners", { circleId });
export const addLearner = (circleId: string, input: LearnerInput) => call<string>("add_learner", { circleId, input });
export const updateLearner = (id: string, input: LearnerInput) => call<void>("update_learner", { id, input });
export const setLearnerWithdrawn = (id: string, withdrawn: boolean) =>
  call<void>("set_learner_withdrawn", { id, withdrawn });
export const admitLearner = (id: string) => call<void>("admit_learner", { id });
export const saveLearnerExport = (id: string) => call<string>("save_learner_export", { id });
export const eraseLearner = (id: string) => call<void>("erase_learner", { id });

// Courses
export const courses = (search: string, language: string, includeArchived: boolean) =>
  call<Course[]>("courses", { search, language, includeArchived });
export const createCourse = (input: CourseInput) => call<string>("create_course", { input });
export const updateCourse = (id: string, input: CourseInput) => call<void>("update_course", { id, input });

// Guides
export const guide = (meetingId: string) => call<MeetingGuide>("guide", { meetingId });
export const editGuide = (meetingId: string, edit: GuideEdit) => call<MeetingGuide>("edit_guide", { meetingId, edit });
export const resetGuide = (meetingId: string) => call<MeetingGuide>("reset_guide", { meetingId });
export const saveRunSheet = (meetingId: string, paper: string, includeSignIn: boolean) =>
  call<string>("save_run_sheet", { meetingId, paper, includeSignIn });
export const saveSignInSheet = (circleId: string, meetingId: string | null, paper: string) =>
  call<string>("save_sign_in_sheet", { circleId, meetingId, paper });
export const saveGuideAsTemplate = (circleId: string, name: string) =>
  call<string>("save_guide_as_template", { circleId, name });

// Feedback and wrap-up
export const awaitingFeedback = () => call<AwaitingFeedback[]>("awaiting_feedback");
export const feedbackForm = (meetingId: string) => call<FeedbackForm>("feedback_form", { meetingId });
export const saveFeedback = (meetingId: string, input: FeedbackInput) =>
  call<void>("save_feedback", { meetingId, input });
export const saveWrapUp = (circleId: string, input: WrapUpInput) => call<WrapUp>("save_wrap_up", { circleId, input });

// Reports
export const circleReport = (circleId: string) => call<CircleReport>("circle_report", { circleId });
export const teams = () => call<Team[]>("teams");
export const teamReport = (teamId: string, from: string, to: string) =>
  call<TeamReport>("team_report", { teamId, from, to });
export const exportTeamReport = (teamId: string, from: string, to: string, format: "csv" | "pdf") =>
  call<string>("export_team_report", { teamId, from, to, format });
export const exportCircleReport = (circleId: string, format: "csv" | "pdf") =>
  call<string>("export_circle_report", { circleId, format });

// Settings
export const settings = () => call<Settings>("settings");
export const saveSettings = (settings: Settings) => call<void>("save_settings", { settings });
export const dataDir = () => call<string>("data_dir");
export const newestBackup = () => call<string | null>("newest_backup");
export const restoreNewestBackup = () => call<string>("restore_newest_backup");
export const setAsideDamagedStore = () => call<string>("set_aside_damaged_store");
export const unlockStore = (passphrase: string) => call<void>("unlock_store", { passphrase });
export const exportEverything = () => call<string>("export_everything");

// The app lock (core's store/app_lock.rs)
export const appLockStatus = () => call<AppLockStatus>("app_lock_status");
export const setAppLock = (current: string | null, kind: LockKind, secret: string, idleMinutes: number) =>
  call<AppLockStatus>("set_app_lock", { current, kind, secret, idleMinutes });
export const setAppLockIdle = (idleMinutes: number) => call<AppLockStatus>("set_app_lock_idle", { idleMinutes });
export const removeAppLock = (current: string) => call<AppLockStatus>("remove_app_lock", { current });
export const lockApp = () => call<AppLockStatus>("lock_app");
export const unlockApp = (secret: string) => call<AppLockStatus>("unlock_app", { secret });

// The first run and the demo
export const firstRun = () => call<FirstRun>("first_run");
export const startOffline = () => call<void>("start_offline");
export const enterDemo = () => call<void>("enter_demo");
export const leaveDemo = () => call<void>("leave_demo");
export const resetDemo = () => call<void>("reset_demo");

// Sync
export const newerRelease = () => call<UpdateNotice | null>("newer_release");
export const checkServer = (serverUrl: string) => call<string>("check_server", { serverUrl });
export const syncState = () => call<SyncView>("sync_state");
export const syncNow = () => call<void>("sync_now");
export const signIn = (serverUrl: string, email: string, password: string, allowPlainHttp = false) =>
  call<string>("sign_in", { serverUrl, email, password, allowPlainHttp });
export const signOut = () => call<boolean>("sign_out");
export const removeComputerData = (discardWaiting: boolean) =>
  call<RemovedView>("remove_computer_data", { discardWaiting });
export const conflicts = () => call<ConflictView[]>("conflicts");
export const resolveConflict = (id: string, keep: "won" | "lost") => call<void>("resolve_conflict", { id, keep });
// Teams (online calls go to the server; membership comes back by sync)
export const myTeamOverviews = () => call<TeamOverview[]>("my_team_overviews");
export const teamOnline = (teamId: string) => call<TeamOnline>("team_online", { teamId });
export const inviteToTeam = (teamId: string, email: string | null, circleId: string | null, organizer: boolean) =>
  call<Invitation>("invite_to_team", { teamId, email, circleId, organizer });
export const resendInvitation = (teamId: string, invitationId: string) =>
  call<Invitation>("resend_invitation", { teamId, invitationId });
export const cancelInvitation = (teamId: string, invitationId: string) =>
  call<void>("cancel_invitation", { teamId, invitationId });
export const removeTeamMember = (teamId: string, userId: string) => call<void>("remove_team_member", { teamId, userId });
export const setTeamMemberRole = (teamId: string, userId: string, role: TeamRole) =>
  call<void>("set_team_member_role", { teamId, userId, role });
export const setTeamRetention = (teamId: string, days: number | null) =>
  call<void>("set_team_retention", { teamId, days });
export const setTeamPrivacyNotice = (teamId: string, notice: string) =>
  call<void>("set_team_privacy_notice", { teamId, notice });
export const changePassword = (current: string, newPassword: string) =>
  call<void>("change_password", { current, new: newPassword });
export const refusedChanges = () => call<RefusedLocalChange[]>("refused_changes");
export const exportRefusedChanges = () => call<string>("export_refused_changes");

/** Sync state pushed by the background sync (src-tauri/src/sync_worker.rs). */
export function onSyncState(handler: (view: SyncView) => void): Promise<UnlistenFn> {
  return listen<SyncView>("sync-state", (event) => handler(event.payload));
}
