//! Build script of the desktop shell.
//!
//! `tauri.conf.json` lives at the repository top level (design card); this
//! crate's `tauri.conf.json` is a relative symlink to it, because tauri-build and
//! `generate_context!` read the config from the crate folder. Paths inside the
//! config (frontendDist, icons) are therefore relative to `src-tauri/`.

use std::path::Path;

/// The commands the UI may call. Declaring them here makes tauri-build generate
/// one permission per command (`allow-list-circles`, ...), so the capability file
/// has to grant each explicitly: nothing is reachable from the webview by default.
const COMMANDS: &[&str] = &[
    "list_circles",
    "today",
    "circle_detail",
    "create_circle",
    "update_circle",
    "team_choice",
    "circle_facilitators",
    "add_circle_facilitator",
    "remove_circle_facilitator",
    "copy_circle",
    "generate_schedule",
    "add_meeting",
    "move_meeting",
    "set_meeting_cancelled",
    "remove_meeting",
    "circle_messages",
    "send_circle_message",
    "set_reminder_message",
    "roster",
    "set_mark",
    "add_walk_in",
    "set_head_count",
    "learners",
    "add_learner",
    "update_learner",
    "set_learner_withdrawn",
    "admit_learner",
    "save_learner_export",
    "erase_learner",
    "courses",
    "create_course",
    "update_course",
    "guide",
    "edit_guide",
    "reset_guide",
    "save_run_sheet",
    "save_sign_in_sheet",
    "save_guide_as_template",
    "awaiting_feedback",
    "feedback_form",
    "save_feedback",
    "save_wrap_up",
    "circle_report",
    "teams",
    "team_report",
    "export_team_report",
    "export_circle_report",
    "settings",
    "save_settings",
    "data_dir",
    "newest_backup",
    "restore_newest_backup",
    "set_aside_damaged_store",
    "unlock_store",
    "export_everything",
    "first_run",
    "start_offline",
    "enter_demo",
    "leave_demo",
    "reset_demo",
    "newer_release",
    "check_server",
    "sync_state",
    "sync_now",
    "sign_in",
    "sign_out",
    "remove_computer_data",
    "conflicts",
    "resolve_conflict",
    "refused_changes",
    "export_refused_changes",
    "my_team_overviews",
    "team_online",
    "invite_to_team",
    "resend_invitation",
    "cancel_invitation",
    "remove_team_member",
    "set_team_member_role",
    "set_team_retention",
    "set_team_privacy_notice",
    "change_password",
    "app_lock_status",
    "set_app_lock",
    "set_app_lock_idle",
    "remove_app_lock",
    "lock_app",
    "unlock_app",
];

fn main() {
    let dist = Path::new("../ui/dist");
    // The UI is embedded into the binary at compile time; rebuild when it changes.
    println!("cargo:rerun-if-changed=../ui/dist");
    if !dist.join("index.html").is_file() {
        panic!(
            "\n\nThe desktop app embeds the built UI from ui/dist, which is missing.\n\
             Build it first:  (cd ui && npm ci && npm run build)\n\
             or run scripts/run-app.sh / scripts/test.sh, which do it for you.\n\n"
        );
    }
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed (see the message above)");
}
