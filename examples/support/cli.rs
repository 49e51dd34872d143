//! The command line shared by the examples: `--port`, `--bind`, `--help`, a logger, and the
//! one-line errors a newcomer should see instead of a panic.
//!
//! Each example includes this file with `#[path = "support/cli.rs"] mod cli;` (cargo builds
//! only `examples/*.rs` as examples, so this folder is not one).

#![allow(dead_code)]

use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::exit;

/// What an example was asked to do.
pub struct Options {
    /// The address to listen on: `--bind` (default 127.0.0.1) and `--port`.
    pub addr: SocketAddr,
    /// Positional arguments, in order (a directory for serve-root).
    pub positional: Vec<String>,
    /// `--name value` options the example declared as its own, in order.
    pub extra: Vec<(String, String)>,
}

/// Parses the command line: `[--port PORT] [--bind ADDR] [--help]` plus the example's own
/// `--name VALUE` options (`extra`) and at most `max_positional` positional arguments.
/// `--help` prints `usage` and exits 0; a bad argument prints one line and exits 2.
pub fn parse(usage: &str, default_port: u16, extra: &[&str], max_positional: usize) -> Options {
    let mut bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port = default_port;
    let mut options = Options {
        addr: SocketAddr::new(bind, port),
        positional: Vec::new(),
        extra: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // `--name=value` and `--name value` both work.
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        let mut value = || match inline {
            Some(v) => v.to_string(),
            None => args
                .next()
                .unwrap_or_else(|| fail(usage, format!("{name} needs a value"))),
        };
        match name.as_str() {
            "-h" | "--help" => {
                println!("{usage}");
                exit(0);
            }
            "--port" | "-p" => {
                let v = value();
                port = v
                    .parse()
                    .unwrap_or_else(|_| fail(usage, format!("not a port number: {v:?}")));
            }
            "--bind" | "-b" => {
                let v = value();
                bind = v
                    .parse()
                    .unwrap_or_else(|_| fail(usage, format!("not an IP address: {v:?}")));
            }
            other if extra.contains(&other) => {
                let v = value();
                options.extra.push((other.to_string(), v));
            }
            other if other.starts_with('-') && other != "-" => {
                fail(usage, format!("unknown option {other}"))
            }
            _ if options.positional.len() < max_positional => options.positional.push(arg),
            _ => fail(usage, format!("unexpected argument {arg:?}")),
        }
    }
    options.addr = SocketAddr::new(bind, port);
    options
}

/// Prints `error: {problem} (see --help)` on one line, then exits with status 2.
pub fn fail(usage: &str, problem: impl Display) -> ! {
    let name = usage.split_whitespace().nth(1).unwrap_or("the example");
    eprintln!("error: {problem} (see `{name} --help`)");
    exit(2)
}

/// Prints `error: {what}: {err}` and exits with status 1 (a runtime failure, such as a port
/// that is already taken).
pub fn die(what: impl Display, err: impl Display) -> ! {
    eprintln!("error: {what}: {err}");
    exit(1)
}

/// Installs a logger for the library's `log` records: `RUST_LOG` chooses what is shown
/// (for example `RUST_LOG=tiny_http=debug`); without it, warnings and above, and the
/// connections the server closes on its own (`info`) are shown.
pub fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
}

/// The URL to print for a bound address: what the server really listens on.
pub fn url(addr: &tiny_http::ListenAddr) -> String {
    match addr.clone().to_ip() {
        Some(ip) if ip.ip().is_unspecified() => {
            format!(
                "http://{ip}/ (every interface; from this machine: http://localhost:{}/)",
                ip.port()
            )
        }
        Some(ip) => format!("http://{ip}/"),
        None => addr.to_string(),
    }
}
