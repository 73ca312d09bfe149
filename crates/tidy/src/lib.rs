//! Tidy tests: rules about the repository's source that the compiler cannot
//! check, run as ordinary `#[test]`s (`cargo test --workspace tidy`, and part
//! of `cargo test --workspace --lib`, so `scripts/check.sh` and CI run them).
//!
//! Each test reads files relative to the workspace root, scans them as plain
//! text (no parser, no dependencies) and, on failure, names the files and says
//! what to change. The rules:
//!
//! - **Tauri commands agree.** A command must appear in five lists: its
//!   `#[tauri::command]` fn in `src-tauri/src/commands/`, `generate_handler!`
//!   in `src-tauri/src/lib.rs`, `COMMANDS` in `src-tauri/build.rs`, its
//!   `allow-<name>` permission in `src-tauri/capabilities/main-window.json` and
//!   its `call(...)` in `ui/src/lib/api.ts`. Forgetting one compiles but fails
//!   at run time (usually as "command not allowed").
//! - **Every module says what it is for**: the first non-empty line of every
//!   `.rs` file under `crates/*/src`, `src-tauri/src` and each `build.rs` is a
//!   `//!` line.
//! - **`meta` keys live in one module.** The keys of the `meta` table are
//!   `MetaKey` constants in `crates/core/src/store/meta.rs`; no other `.rs` file
//!   spells a key as a string literal (`"sync.cursor"`, `'sync.cursor'`) or
//!   reads or writes the `meta` table in SQL.
//! - **No SQL-building macros**: no `macro_rules!` pastes SQL with `concat!`
//!   (write the statement out, or a function taking the varying part).
//!
//! The idea follows rust-analyzer's `xtask/src/tidy.rs`.

use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace root exists")
}

/// A file's text; panics with the path when it cannot be read.
pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("tidy: cannot read {}: {e}", path.display()))
}

/// `path` relative to the workspace root, for messages.
pub fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Every `.rs` file under `dir`, sorted (skipping `target` and `node_modules`).
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The string literals (`"..."`, no escapes) in `text`, in order.
pub fn quoted(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
}

/// The text between the first `open` after `start` and the `close` that
/// balances it, or `None`.
pub fn delimited<'a>(text: &'a str, start: &str, open: char, close: char) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let rest = &text[from..];
    let begin = rest.find(open)? + open.len_utf8();
    let mut depth = 1;
    for (i, c) in rest[begin..].char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(&rest[begin..begin + i]);
            }
        }
    }
    None
}

/// The names of the `#[tauri::command]` fns in one Rust file.
pub fn command_fns(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("#[tauri::command") {
            pending = true;
            continue;
        }
        if !pending || line.starts_with("#[") || line.starts_with("//") || line.is_empty() {
            continue;
        }
        let after_fn = line.split_once("fn ").map(|(_, rest)| rest);
        if let Some(rest) = after_fn {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push(name);
        }
        pending = false;
    }
    out
}

/// The last path segment of each entry of `tauri::generate_handler![...]`.
pub fn handler_names(lib_rs: &str) -> Vec<String> {
    let Some(list) = delimited(lib_rs, "generate_handler!", '[', ']') else { return Vec::new() };
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.rsplit("::").next().unwrap_or(p).to_string())
        .collect()
}

/// The entries of `const COMMANDS: &[&str] = &[...]` in `build.rs`.
pub fn build_rs_commands(build_rs: &str) -> Vec<String> {
    let Some(decl) = build_rs.find("const COMMANDS") else { return Vec::new() };
    let Some(list) = delimited(&build_rs[decl..], "=", '[', ']') else { return Vec::new() };
    quoted(list).into_iter().map(str::to_string).collect()
}

/// The commands a capability grants: `"allow-list-circles"` is `list_circles`
/// (core and plugin permissions, `core:...`, are not the app's commands).
pub fn granted(capability_json: &str) -> Vec<String> {
    quoted(capability_json)
        .into_iter()
        .filter_map(|s| s.strip_prefix("allow-"))
        .map(|name| name.replace('-', "_"))
        .collect()
}

/// The command names passed to `call(...)` / `call<T>(...)` in `api.ts`.
pub fn ui_calls(api_ts: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = api_ts;
    while let Some(at) = rest.find("call") {
        let before_ok = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
        let mut tail = &rest[at + 4..];
        rest = tail;
        if !before_ok {
            continue;
        }
        if tail.starts_with('<') {
            let mut depth = 0;
            let Some(end) = tail.char_indices().find_map(|(i, c)| {
                match c {
                    '<' => depth += 1,
                    '>' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            }) else {
                continue;
            };
            tail = &tail[end + 1..];
        }
        if let Some(args) = tail.strip_prefix("(\"") {
            if let Some(end) = args.find('"') {
                out.push(args[..end].to_string());
            }
        }
    }
    out
}

/// The key strings of `MetaKey("...")` constants.
pub fn meta_keys(meta_rs: &str) -> Vec<String> {
    meta_rs.split("MetaKey(\"").skip(1).filter_map(|s| s.split_once('"')).map(|(key, _)| key.to_string()).collect()
}

/// Lines (1-based) of `text` that spell one of `keys` as a Rust (`"key"`) or
/// SQL (`'key'`) literal, with the key.
pub fn meta_key_literals(text: &str, keys: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for key in keys {
            if line.contains(&format!("\"{key}\"")) || line.contains(&format!("'{key}'")) {
                out.push((n + 1, key.clone()));
            }
        }
    }
    out
}

/// Lines (1-based) of `text`, outside `//` comments, with SQL that reads or
/// writes the `meta` table.
pub fn meta_sql(text: &str) -> Vec<usize> {
    const VERBS: [&str; 4] = ["from meta", "into meta", "update meta", "join meta"];
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        let hit = VERBS.iter().any(|verb| {
            lower.match_indices(verb).any(|(i, _)| {
                !lower[i + verb.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            })
        });
        if hit {
            out.push(n + 1);
        }
    }
    out
}

/// Lines (1-based) of the `macro_rules!` in `text` whose body pastes SQL
/// with `concat!`.
pub fn sql_macros(text: &str) -> Vec<usize> {
    const SQL: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];
    let mut out = Vec::new();
    for (at, _) in text.match_indices("macro_rules!") {
        let Some(body) = delimited(&text[at..], "macro_rules!", '{', '}') else { continue };
        if body.contains("concat!") && SQL.iter().any(|kw| body.contains(kw)) {
            out.push(text[..at].lines().count() + 1);
        }
    }
    out
}

#[cfg(test)]
mod tidy;

/// Lines (1-based) outside a `#[cfg(test)]` module that open a SQLite
/// connection directly (`Connection::open...`): in core, only the key module
/// may, so that every connection core opens is keyed (store/key.rs).
pub fn unkeyed_opens(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // Test modules sit at the end of a file: they make plain files on purpose.
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        if line.contains("Connection::open") {
            out.push(i + 1);
        }
    }
    out
}
