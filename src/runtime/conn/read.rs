//! The read side of a connection: heads, bodies the loop pre-reads, TLS handshakes, the
//! end of the client's stream. See the parent module for the invariants and lock order.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use std::sync::atomic::Ordering;

use super::{BodyStart, Conn, ConnState, Incoming};
use crate::proto::h1::conn::{BodyPlan, BodyReader, CloseReason, Parse, ReadState, ResponseEnd};
use crate::transport::Stream;
use crate::transport::TlsSession;
use crate::types::StatusCode;

impl Conn {
    // -----------------------------------------------------------------------------------
    // Reading: heads, pre-read bodies, handshakes
    // -----------------------------------------------------------------------------------

    /// One read from the connection (through TLS when secure) into `buf`.
    pub(crate) fn read_into(&self, st: &mut ConnState, buf: &mut [u8]) -> io::Result<usize> {
        Stream {
            socket: &self.socket,
            tls: st.tls.as_mut(),
        }
        .read(buf)
    }

    /// Reads and parses as far as the socket and the lifecycle allow: heads, bodies the loop
    /// pre-reads, TLS handshakes. Requests ready for handlers go to `out`.
    /// `short_read_drains`: on the Linux fast path, after an edge that did not report the
    /// end of stream, a read shorter than the buffer proves the socket empty, so the read
    /// that would only say `WouldBlock` is skipped (every other path reads until it).
    pub(crate) fn pump(
        self: &Arc<Self>,
        st: &mut ConnState,
        now: Instant,
        out: &mut Vec<Incoming>,
        short_read_drains: bool,
    ) {
        let limits = &self.hub.settings.read;
        loop {
            if st.closed.is_some() {
                return;
            }
            if !st.input.is_empty() && self.consume_input(st, now, out) {
                continue;
            }
            let handshaking = st.tls.as_ref().is_some_and(TlsSession::is_handshaking);
            if !handshaking && !st.lc.wants_input(limits) {
                return;
            }
            if matches!(st.lc.read_state(), ReadState::Head { .. })
                && st.input.filled().len() > limits.head.max_head_size
            {
                return; // the parser has refused or will refuse this head: read no more
            }
            st.input.attach_pooled();
            let (n, room) = {
                let ConnState { tls, input, .. } = &mut *st;
                let spare = input.spare();
                let room = spare.len();
                let result = Stream {
                    socket: &self.socket,
                    tls: tls.as_mut(),
                }
                .read(spare);
                (result, room)
            };
            match n {
                Ok(0) => {
                    st.readable = false;
                    self.on_eof(st, now);
                    return;
                }
                Ok(n) => {
                    st.input.commit(n);
                    if let Some(body) = st.lc.body() {
                        body.last_progress = now;
                    }
                    if short_read_drains && n < room && st.tls.is_none() {
                        st.readable = false;
                        while !st.input.is_empty() && self.consume_input(st, now, out) {}
                        self.release_chunked_preread(st, out);
                        self.after_read(st);
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    st.readable = false;
                    self.release_chunked_preread(st, out);
                    self.after_read(st);
                    return;
                }
                Err(e) => {
                    log::debug!("{:?}: read failed: {e}", self.remote_addr);
                    let reason = if st.tls.as_ref().is_some_and(TlsSession::is_handshaking) {
                        CloseReason::HandshakeFailed
                    } else {
                        CloseReason::IoError
                    };
                    self.abort(st, reason);
                    return;
                }
            }
        }
    }

    /// Everything that has arrived is read while the loop pre-reads a chunked body: its
    /// length is unknown and the rest may take any time, so the request goes to a handler now
    /// with what has arrived (the handler may answer before the body ends, as upstream
    /// tiny_http allows; it reads the rest at the client's pace). Only bodies declared by
    /// `Content-Length` within `preread_body` are waited for.
    fn release_chunked_preread(self: &Arc<Self>, st: &mut ConnState, out: &mut Vec<Incoming>) {
        let ConnState {
            lc,
            prefix,
            pending_head,
            ..
        } = &mut *st;
        let Some(body) = lc.body() else {
            return;
        };
        if body.reader != BodyReader::Loop || body.decoder.remaining_length().is_some() {
            return;
        }
        let seq = body.seq;
        lc.body_to_handler();
        if let Some(head) = pending_head.take() {
            out.push(Incoming {
                head,
                seq,
                conn: Arc::clone(self),
                body: BodyStart::Partial(std::mem::take(prefix)),
            });
        }
    }

    /// Reading stopped: an empty buffer goes back to the pool; a finished handshake stops
    /// its deadline.
    fn after_read(&self, st: &mut ConnState) {
        st.input.release_pooled();
        if st.handshake_deadline.is_some()
            && !st.tls.as_ref().is_some_and(TlsSession::is_handshaking)
        {
            st.handshake_deadline = None;
        }
    }

    /// Takes what it can from the input buffer: one head, or pre-read body bytes. Returns
    /// whether anything changed.
    fn consume_input(
        self: &Arc<Self>,
        st: &mut ConnState,
        now: Instant,
        out: &mut Vec<Incoming>,
    ) -> bool {
        let limits = &self.hub.settings.read;
        if matches!(st.lc.read_state(), ReadState::Body(b) if b.reader == BodyReader::Loop) {
            return self.preread(st, now, out);
        }
        match st.lc.parse(st.input.filled(), limits, now) {
            Parse::Wait => false,
            Parse::Error { seq, error } => {
                log::info!("{:?}: bad request: {}", self.remote_addr, error.explain());
                st.input.consume(usize::MAX);
                self.closing.store(true, Ordering::Relaxed);
                match error.status() {
                    Some(status) => self.push_error(st, seq, status, now),
                    None => self.push_end(st, seq, ResponseEnd::Close, now),
                }
                true
            }
            Parse::Request {
                seq,
                head,
                used,
                body,
            } => {
                st.input.consume(used);
                if st.shutting_down {
                    st.lc.shutdown();
                }
                if !st.lc.request_persists(seq) {
                    self.closing.store(true, Ordering::Relaxed);
                }
                let start = match body {
                    BodyPlan::None => BodyStart::None,
                    BodyPlan::Stream => BodyStart::Streamed,
                    BodyPlan::Preread => {
                        st.pending_head = Some(head);
                        st.prefix.clear();
                        return true;
                    }
                };
                out.push(Incoming {
                    head,
                    seq,
                    conn: Arc::clone(self),
                    body: start,
                });
                true
            }
        }
    }

    /// Decodes buffered body bytes of the request the loop pre-reads; hands the request out
    /// once the body is complete or larger than the loop buffers.
    fn preread(
        self: &Arc<Self>,
        st: &mut ConnState,
        now: Instant,
        out: &mut Vec<Incoming>,
    ) -> bool {
        let bound = usize::try_from(self.hub.settings.read.preread).unwrap_or(usize::MAX);
        let ConnState {
            lc, input, prefix, ..
        } = &mut *st;
        let Some(body) = lc.body() else {
            return false;
        };
        let seq = body.seq;
        let start = prefix.len();
        // Decoding never yields more bytes than it consumes: room for what has arrived is
        // enough, and a small body costs no more than its size.
        let room = bound.saturating_sub(start).min(input.filled().len()).max(1);
        prefix.resize(start + room, 0);
        let decoded = body.decoder.decode(input.filled(), &mut prefix[start..]);
        let (used, produced) = match decoded {
            Ok(progress) => progress,
            Err(e) => {
                prefix.clear();
                st.pending_head = None;
                log::info!("{:?}: bad request body: {}", self.remote_addr, e.explain());
                st.lc.body_failed(CloseReason::ProtocolError(e));
                self.closing.store(true, Ordering::Relaxed);
                // The request was never handed out: its answer is the error (413 for a body
                // over the limit, 400 for broken framing).
                self.push_error(st, seq, e.status().unwrap_or(StatusCode(400)), now);
                return true;
            }
        };
        prefix.truncate(start + produced);
        body.received += used as u64;
        input.consume(used);
        let start_of = if body.decoder.is_done() {
            lc.body_done();
            BodyStart::Complete(std::mem::take(prefix))
        } else if prefix.len() >= bound {
            // Larger than the loop buffers: the handler reads the rest at its own pace.
            lc.body_to_handler();
            BodyStart::Partial(std::mem::take(prefix))
        } else {
            return used > 0;
        };
        if let Some(head) = st.pending_head.take() {
            out.push(Incoming {
                head,
                seq,
                conn: Arc::clone(self),
                body: start_of,
            });
        }
        true
    }

    /// The client ended its side of the stream.
    fn on_eof(&self, st: &mut ConnState, now: Instant) {
        if st.pending_head.take().is_some() {
            st.prefix.clear();
        }
        st.lc.eof();
        self.closing.store(true, Ordering::Relaxed);
        // Nothing can be answered to a request whose head or pre-read body was cut short:
        // its number was never given out, so the responses before it end the connection.
        self.check_finished(st, now);
        self.wake(st);
    }
}
