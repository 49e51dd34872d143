//! The event-driven core: the event loop owns every socket, handler threads hand their
//! responses to it, and whichever thread is free runs it.
//!
//! ```text
//!   hub.rs      recv()'s queue and who runs the loop (leader/followers, background thread)
//!   reactor.rs  the event loop: poller, accept, connection table, deadlines, messages
//!   conn.rs     one connection shared by the loop and handlers: socket, lifecycle (proto),
//!               input buffer, output queue, waits
//!   body.rs     request bodies as handlers read them; raw reads after an upgrade
//!   reply.rs    responses into the output queue; raw writers and upgraded streams
//!   output.rs   the output queue (in request order; files and owned bodies held whole)
//!   rate.rs     how long a client may keep us waiting (pure arithmetic)
//!   readbuf.rs  the input buffer (pooled per thread)
//! ```
//!
//! # Threads, and who wakes whom
//! - **Workers** (the application's threads) call `recv()`. With nothing queued, one of them
//!   runs the event loop (the *leader*); the others sleep (*followers*) until the leader
//!   queues more requests than it takes itself.
//! - A **handler** that must wait for its connection (room in the output buffer, its
//!   response's turn, body bytes on the portable path) runs the event loop itself when
//!   nobody does, and otherwise sleeps on its connection; the leader's events wake it, and a
//!   leader giving up the role wakes one such waiter to take over. A handler reading a large
//!   body parks the loop's read interest in that socket (one event, then silence) so that an
//!   upload does not wake the loop per packet; on Linux it then waits for body bytes on the
//!   socket itself, with a poller of its own thread (`Socket::wait_readable`), so no other
//!   thread is involved at all.
//! - The **background thread** (`tiny-http-io`) leads when no worker has for a moment (all
//!   busy, or none at all, or the `Server` dropped), and gives the loop back when a worker
//!   asks (through the waker). It sleeps without a timeout while a leader watches an idle
//!   server.
//! - The event loop is woken by socket readiness, its earliest deadline, or the **waker**:
//!   a message from a handler (a connection closed, a deadline moved earlier), `unblock()`,
//!   a worker taking the loop back, shutdown, and (portable path) the exit of a thread that
//!   did socket I/O, after which the loop registers its sockets again from a live thread
//!   (`transport::socket`, "Threads that exit").
//!
//! # Lock order
//! A connection's state lock, then the hub's state lock, then the reactor's lock (taken
//! only by the leader, which holds no other lock while polling). The mailbox, cork list,
//! buffer pools, a connection's `read_parked` flag and (portable path) its socket's mutex are
//! leaf locks. No thread holds two connections' locks.
//!
//! # Where new protocols and more loops plug in
//! - **HTTP/2** adds a second lifecycle beside `proto::h1::conn` (`proto::h2`): the
//!   connection's state holds either, chosen by the preface or by ALPN; the loop feeds it
//!   bytes and gets back requests (one per stream, each with its own sequence number in the
//!   connection's `Output`, whose ordering then only applies per stream) and frames to send.
//!   `Incoming` and `Reply` stay the interface to the API layer.
//! - **Several event loops** are several `Reactor`s, each with its own poller, table and
//!   leader role, all queueing into the one hub; the listener is shared (or one per loop
//!   with `SO_REUSEPORT`), and a connection stays with the loop that accepted it.

pub(crate) mod body;
pub(crate) mod conn;
pub(crate) mod hub;
pub(crate) mod output;
pub(crate) mod rate;
pub(crate) mod reactor;
pub(crate) mod readbuf;
pub(crate) mod reply;

use std::time::Duration;

use crate::proto::h1::conn::{ReadLimits, ReadTimeouts};
use crate::runtime::rate::WriteLimits;
use crate::transport::TlsConfig;

/// Everything the runtime is configured with (built by `ServerBuilder`).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Limits on request heads, pipelining depth and pre-read bodies.
    pub(crate) read: ReadLimits,
    /// Read-side deadlines.
    pub(crate) read_timeouts: ReadTimeouts,
    /// Write-side deadlines.
    pub(crate) write: WriteLimits,
    /// From accepting a TLS connection to the end of its handshake.
    pub(crate) handshake_timeout: Option<Duration>,
    /// How long a closing connection drains the client's bytes.
    pub(crate) linger: Duration,
    /// Most open connections; at the limit new ones wait in the listen backlog.
    pub(crate) max_connections: usize,
    /// Rendered response bytes a connection may hold before a handler streaming a body
    /// waits for the client (the memory a slow client costs).
    pub(crate) output_buffer: usize,
    /// TLS: every accepted connection starts a handshake with this configuration.
    pub(crate) tls: Option<TlsConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            read: ReadLimits::default(),
            read_timeouts: ReadTimeouts {
                head: Some(Duration::from_secs(30)),
                idle: Some(Duration::from_secs(75)),
                body_stall: Some(Duration::from_secs(60)),
                min_body_rate: Some((256, Duration::from_secs(10))),
            },
            write: WriteLimits {
                stall: Some(Duration::from_secs(60)),
                min_rate: Some((256, Duration::from_secs(30))),
            },
            handshake_timeout: Some(Duration::from_secs(10)),
            linger: Duration::from_secs(2),
            max_connections: 100_000,
            output_buffer: 256 * 1024,
            tls: None,
        }
    }
}
