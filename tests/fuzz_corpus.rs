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

/// The same inputs to a real server over loopback (the event loop, not just the lifecycle).
#[test]
fn connection_corpus_through_a_server() {
    replay_all("connection", checks::server, 20);
}

/// A little deterministic fuzzing in every CI run: the connection corpus mutated (bytes
/// flipped, inserted, deleted, spliced between inputs) by a fixed-seed generator, through
/// the in-process connection check. `FUZZ_ROUNDS` sets how many inputs (default 4000).
#[test]
fn connection_mutations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/connection");
    let mut corpus: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    corpus.sort();
    let rounds: usize = std::env::var("FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(4000);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b"\r\n\r\n",
        b"Content-Length: 5\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"0\r\n\r\n",
        b"Connection: close\r\n",
        b"Expect: 100-continue\r\n",
        b"Upgrade: x\r\nConnection: upgrade\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"HTTP/1.0",
        b" ",
        b":",
    ];
    for round in 0..rounds {
        let mut input = corpus[next(corpus.len())].clone();
        for _ in 0..1 + next(4) {
            let at = next(input.len() + 1);
            match next(5) {
                0 if !input.is_empty() => {
                    let i = next(input.len());
                    input[i] = next(256) as u8;
                }
                1 => input
                    .splice(at..at, TOKENS[next(TOKENS.len())].iter().copied())
                    .for_each(drop),
                2 if !input.is_empty() => {
                    let end = (at + next(8)).min(input.len());
                    input.drain(at.min(end)..end);
                }
                3 => {
                    let other = &corpus[next(corpus.len())];
                    let from = next(other.len() + 1);
                    input
                        .splice(at..at, other[from..].iter().copied())
                        .for_each(drop);
                }
                _ => input.insert(at, next(256) as u8),
            }
        }
        input.truncate(4096);
        if std::panic::catch_unwind(|| checks::connection(&input)).is_err() {
            panic!("round {round}: input {input:?} (add it to fuzz/corpus/connection)");
        }
    }
}
