//! Side-by-side benchmark of this crate, crates.io tiny_http 0.12.0 and hyper 1.x (issue 5).
//!
//! ```text
//! cargo run --release -p bench -- [options] [s1 s2 s3 s4 s5 s6 | all]
//! ```
//! One binary plays three roles: the harness (default), a server (`serve <name>`) and the load
//! generator (`gen <kind> ...`); the harness starts the other two as pinned child processes.
//! See PERFORMANCE.md for what each scenario measures and how to read the table.

#![forbid(unsafe_code)]

mod floor;
mod gen;
mod harness;
mod procfs;
mod servers;
mod tls;
mod wrk;

use std::process::{Command, ExitCode, Stdio};

use harness::{Config, Scenario};

const USAGE: &str = "\
usage: cargo run --release -p bench -- [options] [scenario...]

scenarios (default: all)
  s1   keep-alive GET /, 64 connections (wrk): requests/s, p99, server CPU per request
  s2   pipelined depth 16, 64 connections (wrk + Lua script): requests/s, server CPU
  s3   new connection per request (own generator): requests/s, server CPU per request
  s4   10,000 idle keep-alive connections: threads, RSS per connection, fresh latency
  s5   64 MiB download and 256 MiB upload (s5d / s5u for one): MiB/s, peak RSS
  s6   500 clients trickling a head 1 byte/s + a normal client: served %, latency
  s7   4 workers; 64 clients reading a 32 MiB file at 40 KB/s (s7d), or trickling 8 KiB
       bodies at 100 B/s (s7u), while fresh requests come: their latency, threads, RSS
  s8   HTTPS keep-alive GET /, 64 connections (wrk): requests/s, p99, server CPU per request
  s9   HTTPS new connection per request (full handshake, wrk): connections/s, server CPU

options
  --quick              smoke run: 1 rep, 1 s runs, small S4/S5/S6 sizes
  --reps N             repetitions per scenario and server, interleaved (default 3)
  --secs S             seconds per measured run (default 5)
  --warmup S           warm-up seconds before S1-S3 runs (default 0.5)
  --servers a,b,c      subset of ours,upstream,hyper (default all three), or floor: a
                       canned-response mio loop, the kernel-only lower bound for S1/S2
                       (floorb: the same with each poll's writes in one burst)
  --noise PCT          flag a run NOISY when other processes used more than PCT% of a
                       core during it (default 15)
  --idle-conns N       S4 connections (default 10000)
  --close-conns N      S3 concurrent connections (default 16)
  --download-mib N     S5 download size (default 64)
  --upload-mib N       S5 upload size (default 256)
  --tricklers N        S6 slow clients (default 500)
  --crowd N            S7 slow clients (default 64)
  --workers N          recv() threads of the tiny_http servers (default 2)
  --server-cpu C       CPU list for the servers (default 0)
  --load-cpu C         CPU list for the load generator (default 1)
  --no-wrk             use the built-in generator for S1/S2 even when wrk is installed
  --verbose            show the servers' and generator's stderr

internal roles (started by the harness)
  serve <ours|upstream|hyper|floor|floorb> [workers=N] [port=P] [pipeline_flush=BOOL] [tls=DIR]
  gen <load|close|idle|transfer|slow> key=value...
  make-tls DIR         the S8/S9 certificate and key (bench/callgrind.sh uses it)
";

/// Raises the soft RLIMIT_NOFILE to the hard limit (S4 holds 10,000 connections; children
/// inherit the limit).
pub fn raise_nofile_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("gen") => match args.get(1) {
            Some(kind) => gen::main(kind, &args[2..]).map_err(|e| e.to_string()),
            None => Err("gen needs a kind".to_owned()),
        },
        Some("make-tls") => match args.get(1) {
            Some(dir) => tls::make(std::path::Path::new(dir)).map_err(|e| e.to_string()),
            None => Err("make-tls needs a directory".to_owned()),
        },
        Some("--help" | "-h" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => parse_config(&args).and_then(|config| {
            raise_nofile_limit();
            harness::run(&config).map_err(|e| e.to_string())
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("bench: {why}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &[String]) -> Result<(), String> {
    let name = args.first().ok_or("serve needs a server name")?;
    let mut workers = servers::TINY_WORKERS;
    let mut port = 0;
    let mut pipeline_flush = true;
    let mut tls = None;
    for arg in &args[1..] {
        match arg.split_once('=') {
            Some(("workers", n)) => workers = n.parse().map_err(|_| format!("bad {arg}"))?,
            Some(("pipeline_flush", b)) => {
                pipeline_flush = b.parse().map_err(|_| format!("bad {arg}"))?
            }
            Some(("port", n)) => port = n.parse().map_err(|_| format!("bad {arg}"))?,
            Some(("tls", dir)) => tls = Some(std::path::PathBuf::from(dir)),
            _ => return Err(format!("unknown serve argument {arg}")),
        }
    }
    raise_nofile_limit();
    servers::serve(name, port, workers, pipeline_flush, tls.as_deref()).map_err(|e| e.to_string())
}

fn parse_config(args: &[String]) -> Result<Config, String> {
    let mut config = Config {
        scenarios: Vec::new(),
        servers: servers::ALL.iter().map(|s| (*s).to_owned()).collect(),
        reps: 3,
        secs: 5.0,
        warmup_secs: 0.5,
        noise_pct: 15.0,
        idle_conns: 10_000,
        close_conns: 16,
        download_bytes: 64 << 20,
        upload_bytes: 256 << 20,
        tricklers: 500,
        crowd: 64,
        use_wrk: true,
        server_cpu: "0".to_owned(),
        load_cpu: "1".to_owned(),
        pin: true,
        workers: servers::TINY_WORKERS,
        verbose: false,
    };
    let mut no_wrk = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| {
            iter.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        fn number<T: std::str::FromStr>(text: String) -> Result<T, String> {
            text.parse().map_err(|_| format!("not a number: {text}"))
        }
        match arg.as_str() {
            "--quick" => {
                config.reps = 1;
                config.secs = 1.0;
                config.warmup_secs = 0.2;
                config.idle_conns = 1_000;
                config.download_bytes = 16 << 20;
                config.upload_bytes = 32 << 20;
                config.tricklers = 50;
                config.crowd = 16;
            }
            "--reps" => config.reps = number(value(arg)?)?,
            "--secs" => config.secs = number(value(arg)?)?,
            "--warmup" => config.warmup_secs = number(value(arg)?)?,
            "--noise" => config.noise_pct = number(value(arg)?)?,
            "--idle-conns" => config.idle_conns = number(value(arg)?)?,
            "--close-conns" => config.close_conns = number(value(arg)?)?,
            "--download-mib" => config.download_bytes = number::<u64>(value(arg)?)? << 20,
            "--upload-mib" => config.upload_bytes = number::<u64>(value(arg)?)? << 20,
            "--tricklers" => config.tricklers = number(value(arg)?)?,
            "--crowd" => config.crowd = number(value(arg)?)?,
            "--workers" => config.workers = number(value(arg)?)?,
            "--server-cpu" => config.server_cpu = value(arg)?,
            "--load-cpu" => config.load_cpu = value(arg)?,
            "--no-wrk" => no_wrk = true,
            "--verbose" => config.verbose = true,
            "--servers" => {
                config.servers = value(arg)?.split(',').map(str::to_owned).collect();
                if let Some(bad) = config
                    .servers
                    .iter()
                    .find(|s| !servers::KNOWN.contains(&s.as_str()))
                {
                    return Err(format!(
                        "unknown server {bad}; expected {:?}",
                        servers::KNOWN
                    ));
                }
            }
            scenario => match Scenario::parse(scenario) {
                Some(list) => config.scenarios.extend(list),
                None => return Err(format!("unknown argument {scenario}\n\n{USAGE}")),
            },
        }
    }
    if config.scenarios.is_empty() {
        config.scenarios = Scenario::ALL.to_vec();
    }
    config.reps = config.reps.max(1);
    config.pin = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !config.pin {
        eprintln!("bench: taskset not found (package util-linux); running unpinned");
    }
    let needs_wrk = config
        .scenarios
        .iter()
        .any(|s| matches!(s, Scenario::S1 | Scenario::S2 | Scenario::S8 | Scenario::S9));
    config.use_wrk = !no_wrk && wrk::available();
    if needs_wrk && !no_wrk && !config.use_wrk {
        eprintln!(
            "bench: wrk not found; install it with `{}`. Using the built-in generator for S1/S2 \
             (slower than wrk: it may saturate before the server does).",
            wrk::INSTALL_HINT
        );
    }
    Ok(config)
}
