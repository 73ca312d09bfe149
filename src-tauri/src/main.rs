//! The `circles-app` binary: starts the desktop shell (`circles_app::run`).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    circles_app::run();
}
