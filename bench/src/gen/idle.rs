//! S4: fresh-request latency, then `conns` keep-alive connections that each made one request
//! and now sit idle, then fresh-request latency again while they are held.
//!
//! ```text
//! measure fresh latency -> open + 1 request each -> print "HELD n" -> wait for a line on
//! stdin (the harness samples the server) -> measure fresh latency -> print, exit (closing all)
//! ```
//! Connections come from several source addresses (127.0.0.1, .2, ...) so that the ephemeral
//! port range never limits how many can be held.

use std::io::{self, BufRead};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::client::{fresh_get, Client};
use super::{emit, percentile};

const STEP_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct IdleOpts {
    pub addr: SocketAddr,
    pub conns: usize,
    pub samples: usize,
    /// How long opening the connections may take in all.
    pub open_budget: Duration,
}

/// Fresh-request latencies in microseconds, and how many failed (timeouts, refusals).
/// Stops after a few failures in a row so that a server that stopped accepting cannot hold
/// the run hostage.
fn sample(addr: SocketAddr, samples: usize) -> (Vec<u32>, u64) {
    let mut latencies = Vec::with_capacity(samples);
    let mut failed = 0;
    let mut in_a_row = 0;
    for _ in 0..samples {
        match fresh_get(addr, STEP_TIMEOUT) {
            Ok(latency) => {
                in_a_row = 0;
                latencies.push(latency.as_micros().min(u32::MAX as u128) as u32);
            }
            Err(_) => {
                failed += 1;
                in_a_row += 1;
                if in_a_row >= 3 {
                    break;
                }
            }
        }
    }
    (latencies, failed)
}

fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::V4(SocketAddrV4::new(source, 0)).into())?;
    socket.connect_timeout(&addr.into(), STEP_TIMEOUT)?;
    Ok(socket.into())
}

/// Opens one idle keep-alive connection: connect, one `GET /`, read the 200.
fn open_one(index: usize, addr: SocketAddr) -> io::Result<Client> {
    // 127.0.0.1 .. 127.0.0.8, 4,096 connections per address at most in practice.
    let source = Ipv4Addr::new(127, 0, 0, 1 + (index % 8) as u8);
    let stream = connect_from(source, addr)?;
    let mut client = Client::from_stream(stream, STEP_TIMEOUT)?;
    client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")?;
    let reply = client.read_reply(false)?;
    if reply.status != 200 {
        return Err(io::Error::other(format!("status {}", reply.status)));
    }
    Ok(client)
}

pub fn run(opts: &IdleOpts) -> io::Result<()> {
    let (before, before_failed) = sample(opts.addr, opts.samples);
    emit("before_p50_us", percentile(&before, 50.0));
    emit("before_p99_us", percentile(&before, 99.0));
    emit("before_failed", before_failed as f64);

    let mut held = Vec::with_capacity(opts.conns);
    let mut open_failed = 0u64;
    let mut in_a_row = 0;
    let deadline = Instant::now() + opts.open_budget;
    for index in 0..opts.conns {
        if Instant::now() >= deadline || in_a_row >= 20 {
            break;
        }
        match open_one(index, opts.addr) {
            Ok(client) => {
                in_a_row = 0;
                held.push(client);
            }
            Err(_) => {
                open_failed += 1;
                in_a_row += 1;
            }
        }
    }
    emit("open_failed", open_failed as f64);
    println!("HELD {}", held.len());
    // The harness samples the server now and then answers with a line.
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;

    let (during, during_failed) = sample(opts.addr, opts.samples);
    emit("held_p50_us", percentile(&during, 50.0));
    emit("held_p99_us", percentile(&during, 99.0));
    emit("held_ok", during.len() as f64);
    emit("held_failed", during_failed as f64);
    // Held connections the server closed meanwhile (e.g. an idle deadline) are not detected
    // here: the harness reads the server's own figures.
    drop(held);
    Ok(())
}
