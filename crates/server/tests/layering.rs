//! The server's layering, checked by reading its sources: `protocol/` (the
//! sync rules) holds no SQL and no database crate; `storage/` backends hold
//! no HTTP errors and no policy module; every module says why it exists.

use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The Rust files under a folder of `src/`, with their text.
fn sources(folder: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![src().join(folder)];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).unwrap();
                files.push((path, text));
            }
        }
    }
    assert!(!files.is_empty(), "no sources under src/{folder}");
    files
}

/// A file's text before its test module (tests may look at anything).
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

#[test]
fn the_sync_rules_hold_no_sql() {
    for (path, text) in sources("protocol") {
        let code = without_tests(&text);
        for sql in ["\"SELECT ", "\"INSERT ", "\"UPDATE ", "\"DELETE ", "\"WITH ", "rusqlite", "postgres::"] {
            assert!(!code.contains(sql), "{} holds {sql}: SQL belongs in storage/", path.display());
        }
    }
}

#[test]
fn storage_holds_no_policy_and_no_http() {
    for (path, text) in sources("storage") {
        if path.file_name().is_some_and(|n| n.to_string_lossy().ends_with("_tests.rs")) {
            continue;
        }
        let code = without_tests(&text);
        for word in ["ApiError", "StatusCode", "axum", "crate::protocol", "crate::api", "merge::", "validate::"] {
            assert!(
                !code.contains(word),
                "{} uses {word}: storage answers with StorageError and decides nothing",
                path.display()
            );
        }
    }
}

#[test]
fn handlers_reach_the_database_only_through_the_sync_rules() {
    let api = fs::read_to_string(src().join("api.rs")).unwrap();
    for word in ["storage::sqlite", "storage::postgres", "rusqlite", "\"SELECT ", "\"INSERT "] {
        assert!(!api.contains(word), "api.rs uses {word}");
    }
}

#[test]
fn every_module_says_why_it_exists() {
    for (path, text) in sources(".") {
        assert!(text.starts_with("//!"), "{} has no //! line", path.display());
    }
}
