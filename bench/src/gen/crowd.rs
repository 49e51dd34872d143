//! S7: a crowd of slow peers plus a measured normal client.
//!
//! `mode=download`: `clients` connections each `GET /big` (a 32 MiB `Response::from_file`)
//! and read it at `rate` bytes/s, through a small receive window, as phones on a poor link.
//! `mode=upload`: `clients` connections each `POST /upload` an 8 KiB body at `rate` bytes/s.
//!
//! Once every slow peer has sent its request (and one more second), a normal client makes a
//! fresh `GET /` every 50 ms for `duration`; a request not answered within `PROBE_TIMEOUT`
//! counts as failed and enters the percentiles at that timeout. Reports the normal client's
//! latencies and failures, and what the slow peers moved meanwhile (they must be served
//! too, only slowly).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::client::fresh_get;
use super::{emit, percentile};

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const PROBE_GAP: Duration = Duration::from_millis(50);
/// Bytes each uploader sends.
const UPLOAD: usize = 8 * 1024;
/// How often a slow peer moves its next few bytes.
const TICK: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct CrowdOpts {
    pub addr: SocketAddr,
    pub upload: bool,
    pub clients: usize,
    pub rate: u64,
    pub duration: Duration,
}

/// What the slow peers did, shared with their threads.
#[derive(Default)]
struct Crowd {
    /// Requests sent (the crowd is in place once all are).
    started: AtomicU64,
    /// Bytes moved (downloaded or uploaded) while the normal client was measured.
    measured_bytes: AtomicU64,
    /// Peers whose connection failed or closed before the end.
    dropped: AtomicU64,
    /// Uploads answered.
    answered: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
}

fn small_window_stream(addr: SocketAddr) -> io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_recv_buffer_size(16 * 1024)?;
    socket.connect_timeout(&addr.into(), Duration::from_secs(3))?;
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(TICK))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(stream)
}

/// One slow downloader: reads at most `rate * TICK` bytes per tick.
fn download(addr: SocketAddr, rate: u64, crowd: &Crowd) -> io::Result<()> {
    let mut stream = small_window_stream(addr)?;
    stream.write_all(b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")?;
    crowd.started.fetch_add(1, Ordering::SeqCst);
    let per_tick = (rate as f64 * TICK.as_secs_f64()).max(1.0) as usize;
    let mut buf = vec![0u8; per_tick];
    let mut next = Instant::now();
    while !crowd.stop.load(Ordering::SeqCst) {
        let mut got = 0;
        while got < per_tick && !crowd.stop.load(Ordering::SeqCst) {
            match stream.read(&mut buf[got..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        if crowd.measuring.load(Ordering::SeqCst) {
            crowd.measured_bytes.fetch_add(got as u64, Ordering::SeqCst);
        }
        next += TICK;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    Ok(())
}

/// One slow uploader: sends an 8 KiB body `rate * TICK` bytes per tick, then reads the
/// answer.
fn upload(addr: SocketAddr, rate: u64, crowd: &Crowd) -> io::Result<()> {
    let mut stream = small_window_stream(addr)?;
    write!(
        stream,
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {UPLOAD}\r\n\r\n"
    )?;
    crowd.started.fetch_add(1, Ordering::SeqCst);
    let per_tick = (rate as f64 * TICK.as_secs_f64()).max(1.0) as usize;
    let body = vec![b'u'; per_tick];
    let mut sent = 0;
    let mut next = Instant::now();
    while sent < UPLOAD && !crowd.stop.load(Ordering::SeqCst) {
        let n = per_tick.min(UPLOAD - sent);
        stream.write_all(&body[..n])?;
        sent += n;
        if crowd.measuring.load(Ordering::SeqCst) {
            crowd.measured_bytes.fetch_add(n as u64, Ordering::SeqCst);
        }
        next += TICK;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    if sent == UPLOAD {
        let mut answer = [0u8; 256];
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        if stream.read(&mut answer)? > 0 {
            crowd.answered.fetch_add(1, Ordering::SeqCst);
        }
    }
    Ok(())
}

pub fn run(opts: &CrowdOpts) -> io::Result<()> {
    let crowd = Arc::new(Crowd::default());
    let peers: Vec<_> = (0..opts.clients)
        .map(|_| {
            let crowd = Arc::clone(&crowd);
            let (addr, rate, upload_mode) = (opts.addr, opts.rate, opts.upload);
            thread::spawn(move || {
                let result = if upload_mode {
                    upload(addr, rate, &crowd)
                } else {
                    download(addr, rate, &crowd)
                };
                if result.is_err() {
                    crowd.dropped.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Every peer has sent its request (bounded), then a moment for the server to react.
    let deadline = Instant::now() + Duration::from_secs(30);
    while crowd.started.load(Ordering::SeqCst) < opts.clients as u64 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_secs(1));

    crowd.measuring.store(true, Ordering::SeqCst);
    let start = Instant::now();
    let mut latencies = Vec::new();
    let (mut ok, mut failed) = (0u64, 0u64);
    while start.elapsed() < opts.duration {
        match fresh_get(opts.addr, PROBE_TIMEOUT) {
            Ok(latency) => {
                ok += 1;
                latencies.push(latency.as_micros().min(u128::from(u32::MAX)) as u32);
            }
            Err(_) => {
                failed += 1;
                latencies.push(PROBE_TIMEOUT.as_micros() as u32);
            }
        }
        thread::sleep(PROBE_GAP);
    }
    let measured = start.elapsed().as_secs_f64();
    crowd.measuring.store(false, Ordering::SeqCst);
    crowd.stop.store(true, Ordering::SeqCst);
    for peer in peers {
        let _ = peer.join();
    }
    emit("fresh_ok", ok as f64);
    emit("fresh_failed", failed as f64);
    emit("p50_us", percentile(&latencies, 50.0));
    emit("p99_us", percentile(&latencies, 99.0));
    emit(
        "crowd_kib_per_s",
        crowd.measured_bytes.load(Ordering::SeqCst) as f64 / 1024.0 / measured.max(1e-9),
    );
    emit("crowd_started", crowd.started.load(Ordering::SeqCst) as f64);
    emit("crowd_dropped", crowd.dropped.load(Ordering::SeqCst) as f64);
    emit(
        "uploads_answered",
        crowd.answered.load(Ordering::SeqCst) as f64,
    );
    Ok(())
}
