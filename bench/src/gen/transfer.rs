//! S5: large bodies on one keep-alive connection. `download` reads
//! `GET /download?bytes=N` to the end; `upload` sends `POST /upload` with an N-byte body and
//! checks the count the server answers. Repeated until `min_time` has passed (at least once).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::client::Client;
use super::emit;

#[derive(Debug, Clone)]
pub struct TransferOpts {
    pub addr: SocketAddr,
    pub upload: bool,
    pub bytes: u64,
    pub min_time: Duration,
}

pub fn run(opts: &TransferOpts) -> io::Result<()> {
    let mut client = Client::connect(opts.addr, Duration::from_secs(10))?;
    let chunk = vec![b'u'; 256 * 1024];
    let mut moved = 0u64;
    let mut count = 0u64;
    let mut errors = 0u64;
    let started = Instant::now();
    while count == 0 || started.elapsed() < opts.min_time {
        let outcome = if opts.upload {
            upload(&mut client, &chunk, opts.bytes)
        } else {
            download(&mut client, opts.bytes)
        };
        match outcome {
            Ok(()) => {
                moved += opts.bytes;
                count += 1;
            }
            Err(e) => {
                eprintln!("transfer failed: {e}");
                errors += 1;
                break;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    emit("transfers", count as f64);
    emit("errors", errors as f64);
    emit(
        "mb_per_s",
        moved as f64 / (1024.0 * 1024.0) / seconds.max(1e-9),
    );
    emit("mib_moved", moved as f64 / (1024.0 * 1024.0));
    Ok(())
}

fn download(client: &mut Client, bytes: u64) -> io::Result<()> {
    let request = format!("GET /download?bytes={bytes} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    client.send(request.as_bytes())?;
    let reply = client.read_reply(false)?;
    if reply.status != 200 || reply.body_len != bytes {
        return Err(io::Error::other(format!(
            "status {} with {} of {bytes} bytes",
            reply.status, reply.body_len
        )));
    }
    Ok(())
}

fn upload(client: &mut Client, chunk: &[u8], bytes: u64) -> io::Result<()> {
    let head =
        format!("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {bytes}\r\n\r\n");
    client.send(head.as_bytes())?;
    let mut left = bytes;
    while left > 0 {
        let n = (chunk.len() as u64).min(left) as usize;
        client.send(&chunk[..n])?;
        left -= n as u64;
    }
    let reply = client.read_reply(true)?;
    let counted = String::from_utf8_lossy(&reply.body);
    if reply.status != 200 || counted.trim() != bytes.to_string() {
        return Err(io::Error::other(format!(
            "status {}, server counted {counted:?} of {bytes}",
            reply.status
        )));
    }
    Ok(())
}
