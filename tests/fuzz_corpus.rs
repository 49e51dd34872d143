//! Replays the saved fuzz corpus (`fuzz/corpus/<target>/*`) through the fuzz targets' own
//! checks, so every input that once mattered keeps being tested in CI. Needs the `fuzzing`
//! feature (CI runs with `--all-features`).

#![cfg(feature = "fuzzing")]

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

/// Runs `check` on every file of one target's corpus; returns (files, failures).
fn replay(target: &str, check: fn(&[u8])) -> (usize, Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        let data = std::fs::read(path).expect("read corpus file");
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            failures.push(format!(
                "{target}/{}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    (paths.len(), failures)
}

fn replay_all(target: &str, check: fn(&[u8]), at_least: usize) {
    let (files, failures) = replay(target, check);
    assert!(
        files >= at_least,
        "only {files} files in fuzz/corpus/{target}"
    );
    assert!(failures.is_empty(), "corpus inputs failing: {failures:?}");
}

#[test]
fn head_corpus() {
    replay_all("head", checks::head, 20);
}

#[test]
fn chunked_corpus() {
    replay_all("chunked", checks::chunked, 20);
}

#[test]
fn connection_corpus() {
    replay_all("connection", checks::connection, 20);
}
