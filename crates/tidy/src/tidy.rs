//! The tidy tests themselves, over the real tree (see the crate docs).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::*;

fn set(names: Vec<String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

/// Every `.rs` file under `crates/` and `src-tauri/` except this crate's own,
/// whose tests spell out what the rules look for.
fn scanned(root: &Path) -> Vec<PathBuf> {
    let own = root.join("crates/tidy");
    let mut files = rust_files(&root.join("crates"));
    files.retain(|f| !f.starts_with(&own));
    files.extend(rust_files(&root.join("src-tauri")));
    files
}

fn dashed(name: &str) -> String {
    name.replace('_', "-")
}

#[test]
fn tidy_tauri_command_lists_agree() {
    let root = repo_root();
    let tauri = root.join("src-tauri");
    let mut defined = BTreeSet::new();
    for file in rust_files(&tauri.join("src/commands")) {
        defined.extend(command_fns(&read(&file)));
    }
    assert!(!defined.is_empty(), "tidy: found no #[tauri::command] fn under src-tauri/src/commands/");

    let lists: [(&str, BTreeSet<String>, &str); 4] = [
        (
            "src-tauri/src/lib.rs generate_handler![...]",
            set(handler_names(&read(&tauri.join("src/lib.rs")))),
            "list `commands::<module>::{name}` in tauri::generate_handler![...] in src-tauri/src/lib.rs",
        ),
        (
            "src-tauri/build.rs COMMANDS",
            set(build_rs_commands(&read(&tauri.join("build.rs")))),
            "add \"{name}\" to COMMANDS in src-tauri/build.rs",
        ),
        (
            "src-tauri/capabilities/main-window.json permissions",
            set(granted(&read(&tauri.join("capabilities/main-window.json")))),
            "grant \"allow-{dashed}\" in src-tauri/capabilities/main-window.json",
        ),
        (
            "ui/src/lib/api.ts call(...)",
            set(ui_calls(&read(&root.join("ui/src/lib/api.ts")))),
            "call it from ui/src/lib/api.ts: export const ... = () => call<...>(\"{name}\", {...})",
        ),
    ];

    let mut problems = Vec::new();
    for (list, names, fix) in &lists {
        for name in defined.difference(names) {
            let fix = fix.replace("{name}", name).replace("{dashed}", &dashed(name));
            problems.push(format!("`{name}` is a #[tauri::command] but missing from {list}: {fix}"));
        }
        for name in names.difference(&defined) {
            problems.push(format!(
                "{list} names `{name}`, which is no #[tauri::command] fn in src-tauri/src/commands/: \
                 remove it there, or write the command (and add it to every list: \
                 generate_handler!, build.rs COMMANDS, `allow-{}` in the capability, api.ts)",
                dashed(name)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "\ntidy: the lists a Tauri command must appear in disagree:\n  - {}\n",
        problems.join("\n  - ")
    );
}

#[test]
fn tidy_every_module_has_a_doc_line() {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in [root.join("crates"), root.join("src-tauri")] {
        for file in rust_files(&dir) {
            let rel = shown(&root, &file);
            let in_src = rel.split('/').any(|part| part == "src");
            if in_src || file.file_name().is_some_and(|n| n == "build.rs") {
                files.push(file);
            }
        }
    }
    assert!(files.len() > 10, "tidy: found only {} Rust modules; is the tree there?", files.len());
    let offenders: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = read(file);
            !text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with("//!"))
        })
        .map(|file| shown(&root, file))
        .collect();
    assert!(
        offenders.is_empty(),
        "\ntidy: these modules do not start with a `//!` line; add one sentence saying what the \
         module is for as its first line:\n  - {}\n",
        offenders.join("\n  - ")
    );
}

#[test]
fn tidy_meta_keys_only_in_their_module() {
    let root = repo_root();
    let home = root.join("crates/core/src/store/meta.rs");
    let keys = meta_keys(&read(&home));
    assert!(keys.len() > 5, "tidy: found only {} MetaKey(\"...\") constants in {}", keys.len(), shown(&root, &home));
    // A bare key (`device_id`, `hlc`) is also a column and wire field name, so
    // only namespaced keys are looked for as literals; the bare ones cannot be
    // reached without SQL on `meta`, which the second rule refuses.
    let namespaced: Vec<String> = keys.into_iter().filter(|k| k.contains('.')).collect();
    let mut problems = Vec::new();
    for file in scanned(&root) {
        if file == home {
            continue;
        }
        let text = read(&file);
        let rel = shown(&root, &file);
        for (line, key) in meta_key_literals(&text, &namespaced) {
            problems.push(format!(
                "{rel}:{line}: the meta key \"{key}\" as a literal: use its MetaKey constant \
                 (crates/core/src/store/meta.rs) through meta::get/set/delete"
            ));
        }
        for line in meta_sql(&text) {
            problems.push(format!(
                "{rel}:{line}: SQL on the `meta` table: go through crates/core/src/store/meta.rs \
                 (meta::get/get_int/set/delete with a MetaKey constant; add a function there if needed)"
            ));
        }
    }
    assert!(problems.is_empty(), "\ntidy: the meta table used outside its module:\n  - {}\n", problems.join("\n  - "));
}

#[test]
fn tidy_no_sql_building_macros() {
    let root = repo_root();
    let mut problems = Vec::new();
    for file in scanned(&root) {
        for line in sql_macros(&read(&file)) {
            problems.push(format!(
                "{}:{line}: a macro_rules! that builds SQL with concat!: write each statement out \
                 in full (or a function taking the part that varies), so it can be read and grepped",
                shown(&root, &file)
            ));
        }
    }
    assert!(problems.is_empty(), "\ntidy: SQL-building macros:\n  - {}\n", problems.join("\n  - "));
}

#[test]
fn tidy_every_core_connection_is_keyed() {
    let root = repo_root();
    let home = root.join("crates/core/src/store/key.rs");
    let mut problems = Vec::new();
    for file in rust_files(&root.join("crates/core/src")) {
        if file == home {
            continue;
        }
        for line in unkeyed_opens(&read(&file)) {
            problems.push(format!(
                "{}:{line}: a SQLite connection opened directly: open it through crates/core/src/store/key.rs \
                 (`key::open_keyed`), so the store's key is given before anything else",
                shown(&root, &file)
            ));
        }
    }
    assert!(problems.is_empty(), "\ntidy: unkeyed connections in core:\n  - {}\n", problems.join("\n  - "));
}

#[test]
fn tidy_scanner_finds_unkeyed_opens() {
    let text = "fn a() { Connection::open(p); }\nfn b() { key::open_keyed(p, f, k); }\n#[cfg(test)]\nmod tests { Connection::open(q); }\n";
    assert_eq!(unkeyed_opens(text), vec![1]);
}

// The scanners, on small inputs, so a change of the tree's shape that blinds
// one shows up as a failure here rather than as a silently passing check.

#[test]
fn tidy_scanners_read_each_list() {
    let cmd = "/// Doc.\n#[tauri::command]\npub async fn list_things(\n    state: State<'_, S>,\n) {}\n#[tauri::command]\n#[allow(unused)]\npub fn other<R>(x: R) {}\nfn helper() {}\n";
    assert_eq!(command_fns(cmd), ["list_things", "other"]);
    let lib = "x.invoke_handler(tauri::generate_handler![\n    commands::a::list_things,\n    commands::b::other\n])";
    assert_eq!(handler_names(lib), ["list_things", "other"]);
    let build =
        "const COMMANDS: &[&str] = &[\n    \"list_things\",\n    \"other\",\n];\nfn main() { let x = [\"no\"]; }";
    assert_eq!(build_rs_commands(build), ["list_things", "other"]);
    let cap = r#"{"permissions": ["core:event:allow-listen", "allow-list-things", "allow-other"]}"#;
    assert_eq!(granted(cap), ["list_things", "other"]);
    let api = "async function call<T>(command: string) {}\nexport const a = () => call<Map<string, X[]>>(\"list_things\");\nexport const b = (id: string) =>\n  call(\"other\", { id });\nconst recall = () => recall(\"no\");";
    assert_eq!(ui_calls(api), ["list_things", "other"]);
}

#[test]
fn tidy_scanners_find_meta_and_macros() {
    let meta = "pub(crate) struct MetaKey(&'static str);\nconst A: MetaKey = MetaKey(\"demo.key\");\nconst B: MetaKey = MetaKey(\"bare\");";
    assert_eq!(meta_keys(meta), ["demo.key", "bare"]);
    let keys = vec!["demo.key".to_string()];
    let text = "let a = 1;\nget(\"demo.key\")\nconn.execute(\"SELECT 1 WHERE k = 'demo.key'\")\n\"demo.keys\"";
    assert_eq!(meta_key_literals(text, &keys), [(2, "demo.key".to_string()), (3, "demo.key".to_string())]);
    let sql = "// read from meta here\nq(\"SELECT value FROM meta WHERE key = ?1\")\nq(\"INSERT INTO meta(key) VALUES (1)\")\nuse crate::store::meta;\nq(\"SELECT * FROM metadata\")";
    assert_eq!(meta_sql(sql), [2, 3]);
    let macros = "fn a() {}\nmacro_rules! sel {\n    ($t:literal) => { concat!(\"SELECT * FROM \", $t) };\n}\nmacro_rules! say { ($($t:tt)*) => { println!($($t)*) } }\n";
    assert_eq!(sql_macros(macros), [2]);
}
