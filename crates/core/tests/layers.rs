//! Architecture invariants of circles-core that the compiler does not check,
//! checked by reading the sources (ARCHITECTURE.md lists them):
//!
//! - no cycle between core's modules (a module is a file; test code and a
//!   folder's own children do not count);
//! - core names its own items by their module path, never through the
//!   crate root's `pub use` list (which is the API for other crates), so the
//!   module graph above is what the code really uses;
//! - synced tables are written only by `store/rows.rs` (local writes, with
//!   their change records), `sync/replica/pull.rs` (pulled changes, with
//!   their versions) and `sync/replica/revoke.rs` (a circle the server
//!   revoked, removed with its versions) and `store/erase.rs` (an erased
//!   learner's old values purged, after the erase itself was recorded).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module file of the crate as (module path, non-test source).
fn modules() -> BTreeMap<String, (PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = src_dir();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut out = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(&root).unwrap().with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts == ["lib"] {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = match text.find("#[cfg(test)]") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        out.insert(parts.join("::"), (path, code));
    }
    out
}

/// The module a `crate::a::b::c` path names: its longest prefix that is a module.
fn resolve<'m>(modules: &'m BTreeMap<String, (PathBuf, String)>, path: &str) -> Option<&'m str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len()).rev().find_map(|n| modules.get_key_value(&parts[..n].join("::")).map(|(k, _)| k.as_str()))
}

/// Paths after `prefix` in `code`: `crate::a::b` gives "a::b".
fn paths_after<'c>(code: &'c str, prefix: &str) -> Vec<&'c str> {
    code.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &code[i + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            rest[..end].trim_end_matches(':')
        })
        .collect()
}

fn related(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let mut graph = BTreeMap::new();
    for (name, (_, code)) in &modules {
        let parent = name.rsplit_once("::").map(|(p, _)| p.to_string()).unwrap_or_default();
        let mut deps = BTreeSet::new();
        let crate_paths = paths_after(code, "crate::").into_iter().map(str::to_string);
        let super_paths = paths_after(code, "super::").into_iter().map(|p| {
            if parent.is_empty() {
                p.to_string()
            } else {
                format!("{parent}::{p}")
            }
        });
        for path in crate_paths.chain(super_paths) {
            if let Some(dep) = resolve(&modules, &path) {
                if !related(name, dep) {
                    deps.insert(dep.to_string());
                }
            }
        }
        graph.insert(name.clone(), deps);
    }
    graph
}

#[test]
fn core_modules_have_no_cycles() {
    let graph = graph();
    assert!(graph.len() > 30, "the module walk found only {} modules", graph.len());
    // A depth-first search that reports the first cycle it meets, as a path.
    fn visit<'g>(
        node: &'g str,
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for dep in &graph[node] {
            if let Some(cycle) = visit(dep, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!(
                "core modules depend on each other in a cycle: {}. Move what both need into a module below \
                 both (see ARCHITECTURE.md, the core layers).",
                cycle.join(" -> ")
            );
        }
    }
}

#[test]
fn core_names_its_items_by_their_module() {
    let mut offenders = Vec::new();
    for (name, (_, code)) in modules() {
        for path in paths_after(&code, "crate::") {
            if path.starts_with(|c: char| c.is_ascii_uppercase()) || path.is_empty() {
                offenders.push(format!("{name}: crate::{path}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "inside circles-core, name an item by its module (crate::domain::learner::LearnerInput), not through the \
         crate root's re-exports: {offenders:?}"
    );
}

#[test]
fn synced_tables_are_written_by_the_write_path_and_the_pull_only() {
    const WRITERS: [&str; 4] = ["store::rows", "sync::replica::pull", "sync::replica::revoke", "store::erase"];
    let synced: Vec<&str> = circles_core::schema::ALL_TABLES.iter().map(|t| t.name).collect();
    let mut offenders = Vec::new();
    for (name, (_, code)) in modules() {
        if WRITERS.contains(&name.as_str()) {
            continue;
        }
        for verb in ["INSERT INTO ", "INSERT OR REPLACE INTO ", "UPDATE ", "DELETE FROM "] {
            for (i, _) in code.match_indices(verb) {
                let target: String = code[i + verb.len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '{' || *c == '}')
                    .collect();
                // A table name formatted in (`{}`) can be any table: only the writers may.
                if synced.contains(&target.as_str()) || target.starts_with('{') {
                    offenders.push(format!("{name}: {verb}{target}"));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a synced table is written outside store/rows.rs, sync/replica/pull.rs and sync/replica/revoke.rs, so \
         without its change record: \
         {offenders:?}; write through Store::write (WriteTx) instead"
    );
}
