//! S6: `tricklers` connections each send a request head one byte per second (never
//! finishing it) while a normal client makes fresh `GET /` requests back to back for
//! `duration`. Reports how many of the normal requests were served and how fast, and how
//! many tricklers the server had cut off by the end.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::client::fresh_get;
use super::{emit, percentile};

const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ";

#[derive(Debug, Clone)]
pub struct SlowOpts {
    pub addr: SocketAddr,
    pub tricklers: usize,
    pub duration: Duration,
}

struct Trickler {
    stream: TcpStream,
    sent: usize,
    open: bool,
}

impl Trickler {
    /// Sends the next byte; notices when the server answered (e.g. 408) or closed.
    fn tick(&mut self) {
        let mut probe = [0u8; 512];
        match self.stream.read(&mut probe) {
            Ok(_) => {
                self.open = false;
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => {
                self.open = false;
                return;
            }
        }
        let byte = HEAD.get(self.sent).copied().unwrap_or(b'a');
        match self.stream.write(&[byte]) {
            Ok(1) => self.sent += 1,
            Ok(_) | Err(_) => self.open = false,
        }
    }
}

pub fn run(opts: &SlowOpts) -> io::Result<()> {
    let mut tricklers = Vec::with_capacity(opts.tricklers);
    let mut connect_failed = 0u64;
    for _ in 0..opts.tricklers {
        let connected = TcpStream::connect_timeout(&opts.addr, Duration::from_secs(3))
            .and_then(|stream| stream.set_nonblocking(true).map(|()| stream));
        match connected {
            Ok(stream) => {
                let mut trickler = Trickler {
                    stream,
                    sent: 0,
                    open: true,
                };
                trickler.tick();
                tricklers.push(trickler);
            }
            Err(_) => connect_failed += 1,
        }
    }
    let connected = tricklers.len();
    let stop = Arc::new(AtomicBool::new(false));
    let trickling = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let second = Instant::now() + Duration::from_secs(1);
                for trickler in tricklers.iter_mut().filter(|t| t.open) {
                    trickler.tick();
                }
                while !stop.load(Ordering::Relaxed) && Instant::now() < second {
                    thread::sleep(Duration::from_millis(20));
                }
            }
            tricklers.iter().filter(|t| t.open).count()
        })
    };
    // Let the server see the tricklers before the normal client starts.
    thread::sleep(Duration::from_secs(1));

    let mut latencies = Vec::new();
    let mut failed = 0u64;
    let deadline = Instant::now() + opts.duration;
    while Instant::now() < deadline {
        match fresh_get(opts.addr, Duration::from_secs(2)) {
            Ok(latency) => latencies.push(latency.as_micros().min(u32::MAX as u128) as u32),
            Err(_) => failed += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    let still_open = trickling.join().unwrap_or(0);
    let total = latencies.len() as u64 + failed;
    emit("tricklers_connected", connected as f64);
    emit("trickler_connect_failed", connect_failed as f64);
    emit("tricklers_open_at_end", still_open as f64);
    emit("normal_ok", latencies.len() as f64);
    emit("normal_failed", failed as f64);
    emit(
        "served_pct",
        if total == 0 {
            0.0
        } else {
            100.0 * latencies.len() as f64 / total as f64
        },
    );
    emit("p50_us", percentile(&latencies, 50.0));
    emit("p99_us", percentile(&latencies, 99.0));
    Ok(())
}
