//! The harness: for each scenario, for each repetition, for each server (interleaved), start
//! the server pinned to the server core, drive it from the load core, and read what it cost.
//!
//! ```text
//! spawn `bench serve X` (taskset server core) -> "LISTENING port" -> warm up
//!   -> snapshot /proc (server CPU, machine CPU, our children's CPU, server status)
//!   -> run wrk or `bench gen ...` (taskset load core), bounded by a deadline
//!   -> snapshot again -> metrics + "other processes' CPU" (noise) -> kill the server
//! ```
//! Every wait is bounded: a server that stops answering is recorded as a failure, never a
//! hang.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::procfs::{self, Cpu, Machine, Status, TICKS_PER_SECOND};
use crate::wrk;

/// The scenarios of issue 5 (S5 split into its two directions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    S1,
    S2,
    S3,
    S4,
    S5Download,
    S5Upload,
    S6,
    S7Download,
    S7Upload,
    S8,
    S9,
}

/// Handler threads of the tiny_http servers in S7 (the issue's "4 workers").
pub const S7_WORKERS: usize = 4;
/// S7's slow peers' pace: a phone on a poor link downloading, a slow-POST uploader.
const S7_DOWNLOAD_RATE: u64 = 40_000;
const S7_UPLOAD_RATE: u64 = 100;

impl Scenario {
    pub const ALL: [Scenario; 11] = [
        Scenario::S1,
        Scenario::S2,
        Scenario::S3,
        Scenario::S4,
        Scenario::S5Download,
        Scenario::S5Upload,
        Scenario::S6,
        Scenario::S7Download,
        Scenario::S7Upload,
        Scenario::S8,
        Scenario::S9,
    ];

    /// Whether the scenario runs over HTTPS (ours and hyper only, with `tls.rs`'s
    /// configuration; wrk is the client).
    pub fn tls(self) -> bool {
        matches!(self, Scenario::S8 | Scenario::S9)
    }

    /// `s1`..`s6` (`s5` is both directions, `s5d`/`s5u` one of them).
    pub fn parse(name: &str) -> Option<Vec<Scenario>> {
        Some(match name.to_ascii_lowercase().as_str() {
            "s1" => vec![Scenario::S1],
            "s2" => vec![Scenario::S2],
            "s3" => vec![Scenario::S3],
            "s4" => vec![Scenario::S4],
            "s5" => vec![Scenario::S5Download, Scenario::S5Upload],
            "s5d" => vec![Scenario::S5Download],
            "s5u" => vec![Scenario::S5Upload],
            "s6" => vec![Scenario::S6],
            "s7" => vec![Scenario::S7Download, Scenario::S7Upload],
            "s7d" => vec![Scenario::S7Download],
            "s7u" => vec![Scenario::S7Upload],
            "s8" => vec![Scenario::S8],
            "s9" => vec![Scenario::S9],
            "all" => Scenario::ALL.to_vec(),
            _ => return None,
        })
    }

    fn title(self, config: &Config) -> String {
        let tool = if config.use_wrk {
            "wrk"
        } else {
            "own generator"
        };
        match self {
            Scenario::S1 => format!("S1 keep-alive GET /, 64 connections ({tool})"),
            Scenario::S2 => format!("S2 pipelined depth 16, 64 connections ({tool})"),
            Scenario::S3 => format!(
                "S3 new connection per request, Connection: close, {} concurrent",
                config.close_conns
            ),
            Scenario::S4 => format!("S4 {} idle keep-alive connections", config.idle_conns),
            Scenario::S5Download => {
                format!("S5 download {} MiB", config.download_bytes >> 20)
            }
            Scenario::S5Upload => format!("S5 upload {} MiB", config.upload_bytes >> 20),
            Scenario::S6 => format!(
                "S6 {} clients trickling a head 1 byte/s + one normal client",
                config.tricklers
            ),
            Scenario::S7Download => format!(
                "S7 {} clients reading a 32 MiB file at {} KB/s + fresh requests, {S7_WORKERS} workers",
                config.crowd, S7_DOWNLOAD_RATE / 1000
            ),
            Scenario::S7Upload => format!(
                "S7 {} clients trickling 8 KiB bodies at {} B/s + fresh requests, {S7_WORKERS} workers",
                config.crowd, S7_UPLOAD_RATE
            ),
            Scenario::S8 => "S8 HTTPS keep-alive GET /, 64 connections (wrk, rustls both)".to_owned(),
            Scenario::S9 => {
                "S9 HTTPS new connection per request, full handshake, 64 connections (wrk)"
                    .to_owned()
            }
        }
    }
}

/// Everything a run depends on (see `--help`).
#[derive(Debug, Clone)]
pub struct Config {
    pub scenarios: Vec<Scenario>,
    pub servers: Vec<String>,
    pub reps: usize,
    pub secs: f64,
    pub warmup_secs: f64,
    /// Other processes' CPU, in % of one core averaged over a run, above which it is noisy.
    pub noise_pct: f64,
    pub idle_conns: usize,
    pub close_conns: usize,
    pub download_bytes: u64,
    pub upload_bytes: u64,
    pub tricklers: usize,
    /// S7's slow peers.
    pub crowd: usize,
    pub use_wrk: bool,
    pub server_cpu: String,
    pub load_cpu: String,
    pub pin: bool,
    pub workers: usize,
    pub verbose: bool,
}

/// Which way a metric is better, for reading ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
    Neither,
}

#[derive(Debug, Clone)]
struct Metric {
    name: &'static str,
    value: f64,
    better: Better,
}

fn metric(name: &'static str, value: f64, better: Better) -> Metric {
    Metric {
        name,
        value,
        better,
    }
}

#[derive(Debug)]
struct Run {
    metrics: Vec<Metric>,
    /// Other processes' CPU during the measured part, % of one core.
    other_pct: f64,
    failure: Option<String>,
}

impl Run {
    fn noisy(&self, config: &Config) -> bool {
        self.other_pct > config.noise_pct
    }
}

/// A child process whose stdout lines arrive on a channel (so reads can time out).
struct Spawned {
    child: Child,
    lines: Receiver<String>,
    stdin: Option<ChildStdin>,
}

impl Spawned {
    fn start(mut command: Command, verbose: bool) -> io::Result<Spawned> {
        command.stdout(Stdio::piped()).stdin(Stdio::piped());
        if !verbose {
            command.stderr(Stdio::null());
        }
        let mut child = command.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let stdin = child.stdin.take();
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Spawned {
            child,
            lines,
            stdin,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line before `deadline`; `None` on timeout or end of output.
    fn line_before(&self, deadline: Instant) -> Result<String, &'static str> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err("timed out"),
            Err(RecvTimeoutError::Disconnected) => Err("exited"),
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for exit until `deadline`, killing the child then (returns false if killed).
    fn wait_until(&mut self, deadline: Instant) -> bool {
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return true,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return false;
                }
            }
        }
    }
}

fn pinned(config: &Config, cpu: &str, program: impl Into<PathBuf>) -> Command {
    let program = program.into();
    if config.pin {
        let mut command = Command::new("taskset");
        command.arg("-c").arg(cpu).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn exe() -> io::Result<PathBuf> {
    std::env::current_exe()
}

/// Starts server `name` on the server core and waits for its port.
fn start_server(
    config: &Config,
    name: &str,
    workers: usize,
    pipeline_flush: bool,
    tls: bool,
) -> Result<(Spawned, u16), String> {
    let mut command = pinned(
        config,
        &config.server_cpu,
        exe().map_err(|e| e.to_string())?,
    );
    command
        .arg("serve")
        .arg(name)
        .arg(format!("workers={workers}"))
        .arg(format!("pipeline_flush={pipeline_flush}"))
        .env(crate::servers::BIG_FILE_ENV, big_file());
    if tls {
        command.arg(format!("tls={}", crate::tls::dir().display()));
    }
    let server = Spawned::start(command, config.verbose).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match server.line_before(deadline) {
            Ok(line) => {
                if let Some(port) = line.strip_prefix("LISTENING ") {
                    let port = port
                        .trim()
                        .parse()
                        .map_err(|_| format!("bad line {line}"))?;
                    return Ok((server, port));
                }
            }
            Err(why) => {
                server.kill();
                return Err(format!("server {name} did not start ({why})"));
            }
        }
    }
}

/// The generator's output: `key value` lines, plus how it ended.
struct GenOutput {
    values: BTreeMap<String, f64>,
    raw: String,
}

/// Runs a command on the load core until it exits or `limit` passes; `on_line` sees every
/// line (and may answer on stdin).
fn run_load(
    config: &Config,
    command: Command,
    limit: Duration,
    mut on_line: impl FnMut(&str, &mut Option<ChildStdin>),
) -> Result<GenOutput, String> {
    let mut load = Spawned::start(command, config.verbose).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + limit;
    let mut values = BTreeMap::new();
    let mut raw = String::new();
    loop {
        match load.line_before(deadline) {
            Ok(line) => {
                raw.push_str(&line);
                raw.push('\n');
                on_line(&line, &mut load.stdin);
                let mut words = line.split_whitespace();
                if let (Some(key), Some(value), None) = (words.next(), words.next(), words.next()) {
                    if let Ok(value) = value.parse::<f64>() {
                        values.insert(key.to_owned(), value);
                    }
                }
            }
            Err("exited") => break,
            Err(why) => {
                load.kill();
                return Err(format!("load generator {why} after {limit:?}"));
            }
        }
    }
    if !load.wait_until(deadline + Duration::from_secs(2)) {
        return Err("load generator did not exit".to_owned());
    }
    Ok(GenOutput { values, raw })
}

/// Runs our generator `kind` with `args` to completion (within `limit`) and returns its
/// figures.
fn generator_values(
    config: &Config,
    kind: &str,
    port: u16,
    args: &[String],
    limit: Duration,
) -> Result<BTreeMap<String, f64>, String> {
    Ok(run_load(
        config,
        gen_command(config, kind, port, args)?,
        limit,
        |_, _| {},
    )?
    .values)
}

fn gen_command(config: &Config, kind: &str, port: u16, args: &[String]) -> Result<Command, String> {
    let mut command = pinned(config, &config.load_cpu, exe().map_err(|e| e.to_string())?);
    command
        .arg("gen")
        .arg(kind)
        .arg(format!("port={port}"))
        .args(args);
    Ok(command)
}

/// wrk's options per scenario: pipelining depth, HTTPS, and `Connection: close` (a new
/// connection per request: wrk reconnects when a response says close).
#[derive(Debug, Clone, Copy)]
struct WrkLoad {
    depth: usize,
    tls: bool,
    close: bool,
}

fn wrk_command(config: &Config, port: u16, secs: f64, load: WrkLoad) -> Result<Command, String> {
    let WrkLoad { depth, tls, close } = load;
    let mut command = pinned(config, &config.load_cpu, "wrk");
    command
        .arg("-t1")
        .arg("-c64")
        .arg(format!("-d{}s", secs.ceil().max(1.0) as u64))
        .arg("--latency")
        .arg("--timeout")
        .arg("2s");
    if depth > 1 {
        let script = wrk::pipeline_script(depth).map_err(|e| e.to_string())?;
        command.arg("-s").arg(script);
    }
    if close {
        command.arg("-H").arg("Connection: close");
    }
    let scheme = if tls { "https" } else { "http" };
    command.arg(format!("{scheme}://127.0.0.1:{port}/"));
    Ok(command)
}

/// Keep-alive load (S1/S2): wrk, or our generator without it. Returns
/// (requests, seconds, p99 µs, errors).
fn keep_alive_load(
    config: &Config,
    port: u16,
    secs: f64,
    load: WrkLoad,
) -> Result<(f64, f64, f64, f64), String> {
    let limit = Duration::from_secs_f64(secs + 15.0);
    if load.tls && !config.use_wrk {
        return Err(format!(
            "HTTPS scenarios need wrk (`{}`); the built-in generator speaks plain HTTP",
            wrk::INSTALL_HINT
        ));
    }
    let depth = load.depth;
    if config.use_wrk {
        let output = run_load(
            config,
            wrk_command(config, port, secs, load)?,
            limit,
            |_, _| {},
        )?;
        let report = wrk::parse(&output.raw)
            .ok_or_else(|| format!("unreadable wrk output:\n{}", output.raw))?;
        Ok((
            report.requests,
            report.seconds,
            report.p99_us,
            report.errors,
        ))
    } else {
        let args = vec![
            "conns=64".to_owned(),
            format!("depth={depth}"),
            format!("secs={secs}"),
        ];
        let output = run_load(
            config,
            gen_command(config, "load", port, &args)?,
            limit,
            |_, _| {},
        )?;
        let get = |key: &str| output.values.get(key).copied().unwrap_or(f64::NAN);
        Ok((
            get("requests"),
            get("seconds"),
            get("p99_us"),
            get("errors"),
        ))
    }
}

/// Fresh requests sampled before and while S4's connections are held.
const IDLE_SAMPLES: usize = 100;

/// Before/after figures around the measured part of a run.
struct Snapshot {
    at: Instant,
    server: Cpu,
    machine: Machine,
    harness: Cpu,
    children: Cpu,
    status: Status,
}

fn snapshot(pid: u32) -> Result<Snapshot, String> {
    let (harness, children) = procfs::self_cpu().map_err(|e| e.to_string())?;
    Ok(Snapshot {
        at: Instant::now(),
        server: procfs::process_cpu(pid).map_err(|e| format!("server gone: {e}"))?,
        machine: procfs::machine().map_err(|e| e.to_string())?,
        harness,
        children,
        status: procfs::status(pid).map_err(|e| format!("server gone: {e}"))?,
    })
}

/// (server CPU seconds, other processes' CPU in % of one core).
///
/// "Other" is user time of the machine minus user time of the server, the generator and the
/// harness, plus steal. Kernel time is left out on purpose: loopback TCP work (softirq,
/// socket teardown in kernel threads) is not always charged to the process that caused it,
/// and counting it would flag every connection-heavy run as noisy.
fn cost(before: &Snapshot, after: &Snapshot) -> (f64, f64) {
    let wall = after.at.duration_since(before.at).as_secs_f64().max(1e-9);
    let server = after.server.total().saturating_sub(before.server.total());
    let ours_user = after.server.user.saturating_sub(before.server.user)
        + after.harness.user.saturating_sub(before.harness.user)
        + after.children.user.saturating_sub(before.children.user);
    let user = after.machine.user.saturating_sub(before.machine.user);
    let steal = after.machine.steal.saturating_sub(before.machine.steal);
    let other = (user.saturating_sub(ours_user) + steal) as f64 / TICKS_PER_SECOND;
    (server as f64 / TICKS_PER_SECOND, 100.0 * other / wall)
}

fn run_once(config: &Config, scenario: Scenario, name: &str) -> Run {
    let workers = match scenario {
        Scenario::S7Download | Scenario::S7Upload => S7_WORKERS,
        _ => config.workers,
    };
    // hyper's pipeline_flush(true) holds whole large bodies in memory (it flushes only when
    // nothing more is to be written): on for small responses, off for S5 and S7.
    let pipeline_flush = !matches!(
        scenario,
        Scenario::S5Download | Scenario::S5Upload | Scenario::S7Download | Scenario::S7Upload
    );
    let (server, port) = match start_server(config, name, workers, pipeline_flush, scenario.tls()) {
        Ok(started) => started,
        Err(why) => {
            return Run {
                metrics: Vec::new(),
                other_pct: 0.0,
                failure: Some(why),
            }
        }
    };
    let pid = server.pid();
    let result = measure(config, scenario, pid, port);
    server.kill();
    match result {
        Ok((metrics, other_pct)) => Run {
            metrics,
            other_pct,
            failure: None,
        },
        Err(why) => Run {
            metrics: Vec::new(),
            other_pct: 0.0,
            failure: Some(why),
        },
    }
}

fn warm_up(config: &Config, scenario: Scenario, port: u16) -> Result<(), String> {
    if config.warmup_secs <= 0.0 {
        return Ok(());
    }
    if scenario.tls() {
        // wrk over HTTPS, for its shortest run (1 s).
        let load = WrkLoad {
            depth: 1,
            tls: true,
            close: false,
        };
        return keep_alive_load(config, port, 1.0, load).map(|_| ());
    }
    let args = vec![
        "conns=16".to_owned(),
        format!("secs={}", config.warmup_secs),
    ];
    let limit = Duration::from_secs_f64(config.warmup_secs + 10.0);
    run_load(
        config,
        gen_command(config, "load", port, &args)?,
        limit,
        |_, _| {},
    )
    .map(|_| ())
}

fn measure(
    config: &Config,
    scenario: Scenario,
    pid: u32,
    port: u16,
) -> Result<(Vec<Metric>, f64), String> {
    use Better::{Higher, Lower, Neither};
    if matches!(
        scenario,
        Scenario::S1 | Scenario::S2 | Scenario::S3 | Scenario::S8 | Scenario::S9
    ) {
        warm_up(config, scenario, port)?;
    }
    let secs = config.secs;
    let before = snapshot(pid)?;
    let mut held_status = None;
    let mut held_count = f64::NAN;
    let mut metrics = Vec::new();
    let values = match scenario {
        Scenario::S1 | Scenario::S2 | Scenario::S8 | Scenario::S9 => {
            let load = WrkLoad {
                depth: if scenario == Scenario::S2 { 16 } else { 1 },
                tls: scenario.tls(),
                close: scenario == Scenario::S9,
            };
            let (requests, seconds, p99_us, errors) = keep_alive_load(config, port, secs, load)?;
            let mut values = BTreeMap::new();
            values.insert("requests".to_owned(), requests);
            values.insert("rps".to_owned(), requests / seconds.max(1e-9));
            values.insert("p99_us".to_owned(), p99_us);
            values.insert("errors".to_owned(), errors);
            values
        }
        Scenario::S3 => {
            let args = vec![
                format!("conns={}", config.close_conns),
                format!("secs={secs}"),
            ];
            let limit = Duration::from_secs_f64(secs + 15.0);
            generator_values(config, "close", port, &args, limit)?
        }
        Scenario::S4 => {
            let args = vec![
                format!("conns={}", config.idle_conns),
                format!("samples={IDLE_SAMPLES}"),
                "open_secs=90".to_owned(),
            ];
            let limit = Duration::from_secs(90 + 60);
            run_load(
                config,
                gen_command(config, "idle", port, &args)?,
                limit,
                |line, stdin| {
                    if line.starts_with("HELD ") {
                        // Let the server settle (threads spawned per connection, buffers).
                        thread::sleep(Duration::from_millis(500));
                        held_status = procfs::status(pid).ok();
                        if let Some(stdin) = stdin.as_mut() {
                            let _ = stdin.write_all(b"go\n");
                            let _ = stdin.flush();
                        }
                    }
                    if let Some(count) = line.strip_prefix("HELD ") {
                        held_count = count.trim().parse::<f64>().unwrap_or(f64::NAN);
                    }
                },
            )?
            .values
        }
        Scenario::S5Download | Scenario::S5Upload => {
            let upload = scenario == Scenario::S5Upload;
            let bytes = if upload {
                config.upload_bytes
            } else {
                config.download_bytes
            };
            let args = vec![
                format!("upload={upload}"),
                format!("bytes={bytes}"),
                format!("secs={}", secs.min(3.0)),
            ];
            let limit = Duration::from_secs_f64(secs + 60.0);
            generator_values(config, "transfer", port, &args, limit)?
        }
        Scenario::S7Download | Scenario::S7Upload => {
            let upload = scenario == Scenario::S7Upload;
            let rate = if upload {
                S7_UPLOAD_RATE
            } else {
                S7_DOWNLOAD_RATE
            };
            let args = vec![
                format!("upload={upload}"),
                format!("clients={}", config.crowd),
                format!("rate={rate}"),
                format!("secs={secs}"),
            ];
            // Connecting (bounded at 30 s) + 1 s settle + the run + slack.
            let limit = Duration::from_secs_f64(secs + 60.0);
            generator_values(config, "crowd", port, &args, limit)?
        }
        Scenario::S6 => {
            let args = vec![
                format!("tricklers={}", config.tricklers),
                format!("secs={secs}"),
            ];
            // Connecting the tricklers (3 s each at worst) + 1 s settle + the run + slack.
            let limit = Duration::from_secs_f64(secs + 3.0 * config.tricklers as f64 + 20.0);
            generator_values(config, "slow", port, &args, limit)?
        }
    };
    let after = snapshot(pid)?;
    let (server_cpu, other_pct) = cost(&before, &after);
    let get = |key: &str| values.get(key).copied().unwrap_or(f64::NAN);
    match scenario {
        Scenario::S1 | Scenario::S2 | Scenario::S3 | Scenario::S8 | Scenario::S9 => {
            let requests = get("requests");
            metrics.push(metric("requests/s", get("rps"), Higher));
            metrics.push(metric("p99 latency ms", get("p99_us") / 1e3, Lower));
            metrics.push(metric(
                "server CPU us/request",
                server_cpu * 1e6 / requests.max(1.0),
                Lower,
            ));
            metrics.push(metric("errors", get("errors"), Lower));
        }
        Scenario::S4 => {
            let held = held_status.ok_or("the generator never reported its held connections")?;
            let opened = held_count;
            metrics.push(metric("connections held", opened, Higher));
            metrics.push(metric("open failures", get("open_failed"), Lower));
            metrics.push(metric(
                "server threads, idle",
                before.status.threads as f64,
                Lower,
            ));
            metrics.push(metric("server threads, held", held.threads as f64, Lower));
            metrics.push(metric(
                "RSS growth KiB/connection",
                (held.rss_kib as f64 - before.status.rss_kib as f64) / opened.max(1.0),
                Lower,
            ));
            metrics.push(metric(
                "fresh p50 ms, before",
                get("before_p50_us") / 1e3,
                Lower,
            ));
            metrics.push(metric(
                "fresh p50 ms, held",
                get("held_p50_us") / 1e3,
                Lower,
            ));
            metrics.push(metric(
                "fresh p99 ms, held",
                get("held_p99_us") / 1e3,
                Lower,
            ));
            // Sampling stops after 3 failures in a row (a server that stopped accepting).
            metrics.push(metric("fresh requests ok, held", get("held_ok"), Higher));
            metrics.push(metric(
                "fresh requests failed, held",
                get("held_failed"),
                Lower,
            ));
        }
        Scenario::S5Download | Scenario::S5Upload => {
            if get("errors") > 0.0 || get("transfers") < 1.0 {
                return Err("transfer failed".to_owned());
            }
            metrics.push(metric("MiB/s", get("mb_per_s"), Higher));
            metrics.push(metric(
                "peak RSS (VmHWM) MiB",
                after.status.hwm_kib as f64 / 1024.0,
                Lower,
            ));
            metrics.push(metric(
                "server CPU ms/GiB",
                server_cpu * 1e3 / (get("mib_moved") / 1024.0).max(1e-9),
                Lower,
            ));
        }
        Scenario::S7Download | Scenario::S7Upload => {
            metrics.push(metric("fresh p50 ms", get("p50_us") / 1e3, Lower));
            metrics.push(metric("fresh p99 ms", get("p99_us") / 1e3, Lower));
            metrics.push(metric("fresh requests ok", get("fresh_ok"), Higher));
            metrics.push(metric("fresh requests failed", get("fresh_failed"), Lower));
            metrics.push(metric(
                if scenario == Scenario::S7Download {
                    "slow clients' download KiB/s"
                } else {
                    "slow clients' upload KiB/s"
                },
                get("crowd_kib_per_s"),
                Higher,
            ));
            metrics.push(metric("slow clients dropped", get("crowd_dropped"), Lower));
            metrics.push(metric("server threads", after.status.threads as f64, Lower));
            metrics.push(metric(
                "server RSS MiB",
                after.status.rss_kib as f64 / 1024.0,
                Lower,
            ));
        }
        Scenario::S6 => {
            metrics.push(metric(
                "normal requests served %",
                get("served_pct"),
                Higher,
            ));
            metrics.push(metric("normal requests ok", get("normal_ok"), Higher));
            metrics.push(metric("normal p50 ms", get("p50_us") / 1e3, Lower));
            metrics.push(metric("normal p99 ms", get("p99_us") / 1e3, Lower));
            metrics.push(metric(
                "tricklers connected",
                get("tricklers_connected"),
                Neither,
            ));
            metrics.push(metric(
                "tricklers still open at end",
                get("tricklers_open_at_end"),
                Neither,
            ));
        }
    }
    Ok((metrics, other_pct))
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "-".to_owned()
    } else if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || b == 0.0 {
        "-".to_owned()
    } else {
        format!("{:.2}x", a / b)
    }
}

/// The 32 MiB file S7's slow clients download (made once, in the temporary directory).
fn big_file() -> PathBuf {
    std::env::temp_dir().join("tiny_http-bench-32mib")
}

fn ensure_big_file() -> io::Result<()> {
    const LEN: u64 = 32 << 20;
    let path = big_file();
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == LEN) {
        return Ok(());
    }
    let chunk: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let mut file = std::fs::File::create(&path)?;
    for _ in 0..LEN >> 20 {
        file.write_all(&chunk)?;
    }
    file.sync_all()
}

/// How each peer is configured, printed with every table (PERFORMANCE.md explains why).
const PEERS: &str = "\
peers: ours and upstream = the same tiny_http application, `workers` threads calling recv();
       hyper = hyper 1.x http1 on a tokio current-thread runtime (one core, like the pinned
       servers), TCP_NODELAY, pipeline_flush(true) except S5/S7 (false: with it hyper holds
       whole large bodies in memory); HTTPS (S8/S9) through tokio-rustls with the same rustls
       ServerConfig as ours (ring, no resumption); floor/floorb = canned-response mio loops";

/// Runs everything and prints the table.
pub fn run(config: &Config) -> io::Result<()> {
    if config.scenarios.contains(&Scenario::S7Download) {
        ensure_big_file()?;
    }
    let tls = config.scenarios.iter().any(|s| s.tls());
    if tls {
        crate::tls::make(&crate::tls::dir())?;
    }
    let outcome = run_all(config);
    if tls {
        let _ = std::fs::remove_dir_all(crate::tls::dir());
    }
    outcome
}

fn run_all(config: &Config) -> io::Result<()> {
    println!(
        "servers: {} | {} run(s) of {} s per scenario and server, interleaved | server on CPU {}, load on CPU {}{} | tiny_http workers: {}",
        config.servers.join(", "),
        config.reps,
        config.secs,
        config.server_cpu,
        config.load_cpu,
        if config.pin { "" } else { " (NOT pinned: taskset missing)" },
        config.workers
    );
    let mut results: Vec<(Scenario, BTreeMap<String, Vec<Run>>)> = Vec::new();
    for &scenario in &config.scenarios {
        let mut runs: BTreeMap<String, Vec<Run>> = BTreeMap::new();
        for rep in 0..config.reps {
            for name in &config.servers {
                if scenario.tls() && !matches!(name.as_str(), "ours" | "hyper") {
                    continue; // HTTPS: ours and hyper only (see tls.rs)
                }
                let run = run_once(config, scenario, name);
                print_run(config, scenario, name, rep, &run);
                runs.entry(name.clone()).or_default().push(run);
            }
        }
        results.push((scenario, runs));
    }
    println!();
    println!("{PEERS}\n");
    print_table(config, &results);
    Ok(())
}

fn print_run(config: &Config, scenario: Scenario, name: &str, rep: usize, run: &Run) {
    let label = format!("[{:?} {name} {}/{}]", scenario, rep + 1, config.reps);
    match &run.failure {
        Some(why) => println!("{label} FAILED: {why}"),
        None => {
            let figures: Vec<String> = run
                .metrics
                .iter()
                .map(|m| format!("{}={}", m.name, format_value(m.value)))
                .collect();
            println!(
                "{label} {} | other CPU {:.0}%{}",
                figures.join(", "),
                run.other_pct,
                if run.noisy(config) { " NOISY" } else { "" }
            );
        }
    }
    let _ = io::stdout().flush();
}

/// Ratio columns of the table (numerator/denominator), when both servers ran. `floor` (the
/// canned-response loop, only with `--servers`) shows how close a server is to the kernel's
/// cost, and what ratio against hyper is reachable at all on this machine.
const RATIOS: [(&str, &str); 4] = [
    ("ours", "hyper"),
    ("ours", "upstream"),
    ("ours", "floor"),
    ("floor", "hyper"),
];

fn print_table(config: &Config, results: &[(Scenario, BTreeMap<String, Vec<Run>>)]) {
    let has = |name: &str| config.servers.iter().any(|s| s == name);
    let name_width = 34;
    let col = 11;
    print!("{:name_width$}", "median of runs");
    for name in &config.servers {
        print!("{name:>col$}");
    }
    // Ratio columns, for the pairs of servers that ran.
    let pairs: Vec<(&str, &str)> = RATIOS
        .iter()
        .copied()
        .filter(|(a, b)| has(a) && has(b))
        .collect();
    for (a, b) in &pairs {
        print!(" {:>col$}", format!("{a}/{}", &b[..b.len().min(5)]));
    }
    println!("  better");
    for (scenario, runs) in results {
        println!("{}", scenario.title(config));
        // Metric names in the order the scenario reports them.
        let mut names: Vec<(&'static str, Better)> = Vec::new();
        for run in runs.values().flatten() {
            for m in &run.metrics {
                if !names.iter().any(|(n, _)| *n == m.name) {
                    names.push((m.name, m.better));
                }
            }
        }
        let medians: BTreeMap<(&str, &str), f64> = names
            .iter()
            .flat_map(|&(metric_name, _)| {
                config
                    .servers
                    .iter()
                    .map(move |server| (metric_name, server))
            })
            .map(|(metric_name, server)| {
                let mut values: Vec<f64> = runs
                    .get(server)
                    .into_iter()
                    .flatten()
                    .filter(|run| run.failure.is_none())
                    .flat_map(|run| run.metrics.iter().filter(|m| m.name == metric_name))
                    .map(|m| m.value)
                    .filter(|v| !v.is_nan())
                    .collect();
                ((metric_name, server.as_str()), median(&mut values))
            })
            .collect();
        for (metric_name, better) in &names {
            print!("  {:w$}", metric_name, w = name_width - 2);
            for server in &config.servers {
                let value = medians[&(*metric_name, server.as_str())];
                print!("{:>col$}", format_value(value));
            }
            let get = |server: &str| {
                medians
                    .get(&(*metric_name, server))
                    .copied()
                    .unwrap_or(f64::NAN)
            };
            for (a, b) in &pairs {
                print!(" {:>col$}", ratio(get(a), get(b)));
            }
            let better = match better {
                Better::Higher => "higher",
                Better::Lower => "lower",
                Better::Neither => "",
            };
            println!("  {better}");
        }
        // Failures and noise, per server.
        print!("  {:w$}", "failed / noisy runs", w = name_width - 2);
        for server in &config.servers {
            let list = runs.get(server).map(Vec::as_slice).unwrap_or(&[]);
            let failed = list.iter().filter(|r| r.failure.is_some()).count();
            let noisy = list
                .iter()
                .filter(|r| r.failure.is_none() && r.noisy(config))
                .count();
            print!("{:>col$}", format!("{failed}/{noisy} of {}", list.len()));
        }
        println!();
        for server in &config.servers {
            for run in runs.get(server).into_iter().flatten() {
                if let Some(why) = &run.failure {
                    println!("    FAILED {server}: {why}");
                    break;
                }
            }
        }
    }
    println!(
        "\nNOISY = other processes used more than {}% of a core during the run (user time from /proc/stat\nminus that of the server, the generator and the harness, plus steal).",
        config.noise_pct
    );
}
