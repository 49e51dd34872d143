//! A reference driver for [`Lifecycle`]: feeds it bytes the way the event loop does and
//! writes down what happened, one short line per event. For the unit tests and the
//! in-process connection fuzz target (feature `fuzzing`): no sockets, threads or clocks.
//!
//! ```text
//!   input, cut into pieces ─► buffer ─► parse heads / decode bodies ─► transcript lines
//!                                         every response written as soon as its request
//!                                         is complete (keep-alive as `persists` allows)
//!   end of input ─► eof() ─► "end finished=… reason=…"
//! ```
//!
//! # Invariants (checked by the fuzz target on every input)
//! - The transcript does not depend on how the input is cut into pieces.
//! - Requests are numbered 0, 1, 2, … with no gap; nothing follows an error.
//! - Each piece is consumed in a bounded number of steps, and once the input has ended and
//!   every response is written the connection is finished.

use std::time::Instant;

use super::conn::{BodyPlan, Lifecycle, Parse, ReadLimits, ResponseEnd};

/// Body bytes decoded per step: small, so that bodies cross many steps.
const SINK: usize = 61;

/// Runs `input` through a lifecycle with `limits`, arriving in pieces whose sizes cycle
/// through `steps` (a zero counts as one; an empty `steps` means all at once).
pub(crate) fn transcript(input: &[u8], steps: &[usize], limits: &ReadLimits) -> Vec<String> {
    let mut lc = Lifecycle::new();
    let now = Instant::now();
    let (mut buf, mut fed, mut out) = (Vec::new(), 0usize, Vec::new());
    let mut body: Option<(u64, u64)> = None; // (seq, decoded bytes so far)
    let mut sink = [0u8; SINK];
    let mut step = 0;
    loop {
        // Make all the progress the bytes at hand allow. Every pass consumes input, ends
        // a body, or leaves: bounded by the input length plus the number of requests.
        let mut passes = 0usize;
        loop {
            passes += 1;
            assert!(passes <= 4 * (input.len() + 4), "no progress on {input:?}");
            if let Some(b) = lc.body() {
                let (seq, got) = body.as_mut().expect("a body has its request");
                match b.decoder.decode(&buf, &mut sink) {
                    Err(e) => {
                        out.push(format!("#{seq} body error {:?}", e.status()));
                        let reason = super::conn::CloseReason::ProtocolError(e);
                        lc.body_failed(reason);
                        let seq = *seq;
                        body = None;
                        // The handler answers; the connection closes after it.
                        lc.response_written(seq, ResponseEnd::Close);
                        break;
                    }
                    Ok((used, n)) => {
                        buf.drain(..used);
                        *got += n as u64;
                        if !b.decoder.is_done() {
                            if used == 0 && n == 0 {
                                break; // needs more input
                            }
                            continue;
                        }
                    }
                }
                let (seq, got) = body.take().expect("checked");
                lc.body_done();
                out.push(format!("#{seq} body {got}"));
                respond(&mut lc, seq);
                continue;
            }
            match lc.parse(&buf, limits, now) {
                Parse::Wait => break,
                Parse::Error { seq, error } => {
                    out.push(format!("#{seq} error {:?}", error.status()));
                    lc.response_written(seq, ResponseEnd::Close);
                    break;
                }
                Parse::Request {
                    seq,
                    head,
                    used,
                    body: plan,
                } => {
                    buf.drain(..used);
                    out.push(format!(
                        "#{seq} request {} {} {:?}{}",
                        head.method,
                        head.target,
                        plan,
                        if head.may_switch { " may-switch" } else { "" }
                    ));
                    if plan == BodyPlan::None {
                        respond(&mut lc, seq);
                    } else {
                        body = Some((seq, 0));
                    }
                }
            }
        }
        if fed == input.len() {
            break;
        }
        let size = match steps {
            [] => input.len(),
            steps => steps[step % steps.len()].max(1),
        };
        step += 1;
        let next = fed.saturating_add(size).min(input.len());
        buf.extend_from_slice(&input[fed..next]);
        fed = next;
    }
    lc.eof();
    if let Some((seq, _)) = body {
        // A body cut short by the end of input: its handler (if it had one) answers.
        if lc.next_seq() > seq && !lc.finished() {
            lc.response_written(seq, ResponseEnd::Close);
        }
    }
    out.push(format!(
        "end finished={} reason={:?}",
        lc.finished(),
        lc.reason()
    ));
    out
}

/// Writes the response to `seq` at once, keeping the connection when the request allows.
fn respond(lc: &mut Lifecycle, seq: u64) {
    let end = if lc.request_persists(seq) {
        ResponseEnd::KeepAlive
    } else {
        ResponseEnd::Close
    };
    lc.response_written(seq, end);
}
