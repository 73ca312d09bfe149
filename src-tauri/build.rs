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
const COMMANDS: &[&str] = &["list_circles", "data_dir"];

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
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed (see the message above)");
}
