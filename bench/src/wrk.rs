//! Running `wrk` (Debian package `wrk`) and reading its report.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Whether `wrk` can be started.
pub fn available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

pub const INSTALL_HINT: &str = "apt-get update && apt-get install -y wrk";

/// A Lua script making wrk send `depth` pipelined `GET /` per round trip (wrk counts each
/// response as a request).
pub fn pipeline_script(depth: usize) -> io::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("tiny-http-bench-pipeline-{depth}.lua"));
    let script = format!(
        "init = function(args)\n  local r = {{}}\n  for i = 1, {depth} do\n    r[i] = wrk.format(nil, \"/\")\n  end\n  req = table.concat(r)\nend\n\nrequest = function()\n  return req\nend\n"
    );
    std::fs::write(&path, script)?;
    Ok(path)
}

/// The figures we use from a wrk report.
#[derive(Debug, Default)]
pub struct Report {
    pub requests: f64,
    pub seconds: f64,
    pub p99_us: f64,
    pub errors: f64,
}

/// Parses wrk's text output (run with `--latency`).
pub fn parse(output: &str) -> Option<Report> {
    let mut report = Report {
        p99_us: f64::NAN,
        ..Report::default()
    };
    let mut saw_requests = false;
    for line in output.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("99%") {
            report.p99_us = duration_us(rest.trim()).unwrap_or(f64::NAN);
        } else if line.contains(" requests in ") {
            // "123456 requests in 5.00s, 12.34MB read"
            let mut words = line.split_whitespace();
            report.requests = words.next()?.parse().ok()?;
            let seconds = words.nth(2)?.trim_end_matches(',');
            report.seconds = duration_us(seconds)? / 1e6;
            saw_requests = true;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            report.errors += rest
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<f64>().ok())
                .sum::<f64>();
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            report.errors += rest.trim().parse::<f64>().unwrap_or(0.0);
        }
    }
    saw_requests.then_some(report)
}

/// "1.23ms", "850.00us", "2.00s", "1.5m" -> microseconds.
fn duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_report() {
        let text = "Running 5s test @ http://127.0.0.1:4000/\n  1 threads and 64 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   592.12us  201.00us   4.10ms   80.00%\n  Latency Distribution\n     50%  550.00us\n     75%  700.00us\n     90%  800.00us\n     99%    1.23ms\n  512345 requests in 5.00s, 60.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\nRequests/sec: 102469.00\n";
        let report = parse(text).unwrap();
        assert_eq!(report.requests, 512345.0);
        assert_eq!(report.seconds, 5.0);
        assert_eq!(report.p99_us, 1230.0);
        assert_eq!(report.errors, 3.0);
    }
}
