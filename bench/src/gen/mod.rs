//! Our own load generator, run as `bench gen <kind> key=value...` in its own process (pinned to
//! the load core by the harness). It prints its results on stdout as `key value` lines and
//! ends with `DONE`; every wait in it is bounded.
//!
//! ```text
//! load      keep-alive or pipelined GETs on N connections      (S1/S2 without wrk)
//! close     one request per connection, Connection: close      (S3)
//! idle      hold N idle keep-alive connections                  (S4)
//! transfer  large download or upload                            (S5)
//! slow      tricklers plus a measured normal client             (S6)
//! crowd     slow downloaders or uploaders plus a normal client  (S7)
//! ```

mod client;
mod crowd;
mod idle;
mod load;
mod slow;
mod transfer;

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

/// Prints one result line.
pub fn emit(key: &str, value: f64) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{key} {value}");
    let _ = out.flush();
}

/// The `p`th percentile (nearest rank) of microsecond samples; NaN when there are none.
pub fn percentile(samples: &[u32], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}

struct Args(HashMap<String, String>);

impl Args {
    fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> io::Result<T> {
        match self.0.get(key) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("bad {key}={text}"))
            }),
        }
    }

    fn addr(&self) -> io::Result<SocketAddr> {
        let port: u16 = self.get("port", 0)?;
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    fn duration(&self, key: &str, default: f64) -> io::Result<Duration> {
        Ok(Duration::from_secs_f64(self.get(key, default)?))
    }
}

/// `bench gen <kind> key=value...`
pub fn main(kind: &str, rest: &[String]) -> io::Result<()> {
    let args = Args(
        rest.iter()
            .filter_map(|arg| arg.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    crate::raise_nofile_limit();
    match kind {
        "load" | "close" => {
            let opts = load::LoadOpts {
                addr: args.addr()?,
                conns: args.get("conns", 64)?,
                depth: args.get("depth", 1)?,
                close: kind == "close",
                duration: args.duration("secs", 5.0)?,
            };
            let result = load::run(&opts)?;
            let seconds = result.elapsed.as_secs_f64();
            emit("requests", result.ok as f64);
            emit("errors", result.errors as f64);
            emit("seconds", seconds);
            emit("rps", result.ok as f64 / seconds.max(1e-9));
            emit("p50_us", percentile(&result.latencies_us, 50.0));
            emit("p99_us", percentile(&result.latencies_us, 99.0));
        }
        "idle" => idle::run(&idle::IdleOpts {
            addr: args.addr()?,
            conns: args.get("conns", 10_000)?,
            samples: args.get("samples", 100)?,
            open_budget: args.duration("open_secs", 90.0)?,
        })?,
        "transfer" => transfer::run(&transfer::TransferOpts {
            addr: args.addr()?,
            upload: args.get("upload", false)?,
            bytes: args.get("bytes", 64 << 20)?,
            min_time: args.duration("secs", 2.0)?,
        })?,
        "crowd" => crowd::run(&crowd::CrowdOpts {
            addr: args.addr()?,
            upload: args.get("upload", false)?,
            clients: args.get("clients", 64)?,
            rate: args.get("rate", 40_000)?,
            duration: args.duration("secs", 5.0)?,
        })?,
        "slow" => slow::run(&slow::SlowOpts {
            addr: args.addr()?,
            tricklers: args.get("tricklers", 500)?,
            duration: args.duration("secs", 5.0)?,
        })?,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown generator {other:?}"),
            ))
        }
    }
    println!("DONE");
    Ok(())
}
