//! The repository's own checks of the invariants `ARCHITECTURE.md` states where a test can
//! see them: every `.rs` file opens with its `//!` header; `crates/domain` has no normal
//! dependency outside its allow-list; sqlx appears only in `crates/store`; only the
//! composition root (`crates/platform`) assembles a server or starts the platforms' workers;
//! the platforms spawn their tasks only through their tracked set; and no source file grows
//! past [`MAX_LINES`].

use std::path::{Path, PathBuf};

/// The normal dependencies `crates/domain` may have: pure libraries, no I/O, no runtime, no
/// wire format (docs/design.md §5).
const DOMAIN_ALLOWED: [&str; 4] = ["chrono", "serde", "serde_json", "thiserror"];

/// The most lines a source file may have: a longer one has a seam to be split along. Tests
/// (files in a `tests` or `benches` directory, a `tests.rs` module) are exempt, and so are the
/// data tables in [`LONG_DATA_TABLES`].
const MAX_LINES: usize = 700;

/// Source files that are data tables, allowed past [`MAX_LINES`]: none today (the city's office
/// templates, `crates/sim/src/city/offices.rs`, are the largest and fit).
const LONG_DATA_TABLES: [&str; 0] = [];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Every `.rs` file of the workspace's crates, as (path relative to the root, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    walk(&path, root, out);
                }
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let relative = path.strip_prefix(root).expect("under the root");
                out.push((relative.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    let root = root();
    let mut out = Vec::new();
    for dir in ["crates", "services", "tests"] {
        walk(&root.join(dir), &root, &mut out);
    }
    assert!(out.len() > 100, "found only {} source files", out.len());
    out
}

/// The workspace's packages as `cargo metadata` tells them (no dependency resolution).
fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata answers JSON")
}

/// (package, dependency name, kind: "normal", "dev" or "build") of every workspace package.
fn dependencies() -> Vec<(String, String, String)> {
    let metadata = metadata();
    let mut out = Vec::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("a package name");
        for dependency in package["dependencies"].as_array().expect("dependencies") {
            out.push((
                name.to_owned(),
                dependency["name"].as_str().expect("a name").to_owned(),
                dependency["kind"].as_str().unwrap_or("normal").to_owned(),
            ));
        }
    }
    assert!(
        out.iter().any(|(p, d, _)| p == "egov-store" && d == "sqlx"),
        "cargo metadata does not show the store's sqlx: the check would prove nothing"
    );
    out
}

/// The lines of `text` that are code, not comments.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
}

fn this_file(path: &str) -> bool {
    path == "tests/tests/tidy.rs"
}

#[test]
fn every_source_file_opens_with_its_header() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(path, _)| path)
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` first line saying what they own: {missing:?}"
    );
}

#[test]
fn no_source_file_is_longer_than_its_seams_allow() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(path, _)| {
            let test = path
                .split('/')
                .any(|part| part == "tests" || part == "benches")
                || path.ends_with("/tests.rs");
            !test && !LONG_DATA_TABLES.contains(&path.as_str())
        })
        .filter_map(|(path, text)| {
            let lines = text.lines().count();
            (lines > MAX_LINES).then(|| format!("{path}: {lines} lines"))
        })
        .collect();
    assert!(
        long.is_empty(),
        "source files over {MAX_LINES} lines (split them along their seams into submodules): \
         {long:?}"
    );
}

#[test]
fn the_domain_depends_only_on_its_allow_list() {
    let outside: Vec<String> = dependencies()
        .into_iter()
        .filter(|(package, dependency, kind)| {
            package == "egov-domain" && kind == "normal" && !DOMAIN_ALLOWED.contains(&&**dependency)
        })
        .map(|(_, dependency, _)| dependency)
        .collect();
    assert!(
        outside.is_empty(),
        "crates/domain stays pure; dependencies outside {DOMAIN_ALLOWED:?}: {outside:?}"
    );
}

#[test]
fn only_the_store_knows_sqlx() {
    let mut found: Vec<String> = dependencies()
        .into_iter()
        .filter(|(package, dependency, _)| dependency == "sqlx" && package != "egov-store")
        .map(|(package, _, kind)| format!("{package} ({kind} dependency)"))
        .collect();
    for (path, text) in sources() {
        if path.starts_with("crates/store/") || this_file(&path) {
            continue;
        }
        for (n, line) in code_lines(&text) {
            if line.contains("sqlx::") {
                found.push(format!("{path}:{n}"));
            }
        }
    }
    assert!(found.is_empty(), "sqlx outside crates/store: {found:?}");
}

#[test]
fn only_the_composition_root_assembles_servers_and_starts_workers() {
    // What assembling a process looks like: a router, serving, the platforms' constructors and
    // their workers.
    let assembly = [
        "Server::builder(",
        "serve_with_incoming",
        ".spawn_workers(",
        "Approval::with_rules(",
        "Supervision::new(",
    ];
    // Tests that stand up a third party's server, not a platform: the OTLP collector.
    let foreign = ["services/egov/tests/traces.rs"];
    let mut found = Vec::new();
    let mut in_root = 0;
    for (path, text) in sources() {
        if this_file(&path) || foreign.contains(&path.as_str()) {
            continue;
        }
        for (n, line) in code_lines(&text) {
            for pattern in assembly {
                if line.contains(pattern) {
                    if path.starts_with("crates/platform/src/") {
                        in_root += 1;
                    } else {
                        found.push(format!("{path}:{n}: {pattern}"));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "assembled outside crates/platform (build through egov_platform::Platforms): {found:?}"
    );
    assert!(
        in_root >= assembly.len(),
        "the root itself no longer assembles anything?"
    );
}

#[test]
fn the_platforms_spawn_only_into_their_tracked_tasks() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        let platform = ["services/approval/src/", "services/supervision/src/"]
            .iter()
            .any(|dir| path.starts_with(dir));
        if !platform {
            continue;
        }
        for (n, line) in code_lines(&text) {
            if line.contains("tokio::spawn(") || line.contains("task::spawn(") {
                found.push(format!("{path}:{n}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "tasks spawned outside the tracked set (use egov_runtime::tasks::Tasks): {found:?}"
    );
}

#[test]
fn every_file_the_architecture_names_exists() {
    let root = root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    // Inline code spans of the prose (fenced blocks are drawings), that look like paths.
    let mut fenced = false;
    let mut named: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        named.extend(
            line.split('`')
                .skip(1)
                .step_by(2)
                .filter(|s| s.ends_with(".rs") && s.contains('/') && !s.contains(' ')),
        );
    }
    assert!(
        named.iter().any(|p| p.starts_with("crates/platform/")),
        "ARCHITECTURE.md no longer names the composition root's files: {named:?}"
    );
    let missing: Vec<&&str> = named.iter().filter(|p| !root.join(p).is_file()).collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names files that are not there: {missing:?}"
    );
}
