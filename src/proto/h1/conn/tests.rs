//! Unit tests of `conn`.

use super::*;
use crate::proto::h1::transcript::transcript;

fn limits() -> ReadLimits {
    ReadLimits {
        max_in_flight: 4,
        preread: 16,
        ..ReadLimits::default()
    }
}

/// Parses every request in `input` (bodies are consumed as if read whole at once),
/// answering each as it comes; returns what happened, as short strings.
fn run(input: &[u8]) -> Vec<String> {
    let mut lc = Lifecycle::new();
    let now = Instant::now();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        match lc.parse(&input[pos..], &limits(), now) {
            Parse::Wait => break,
            Parse::Error { seq, error } => {
                out.push(format!(
                    "#{seq} error {}",
                    error.status().map_or(0, |s| s.0)
                ));
                break;
            }
            Parse::Request {
                seq,
                head,
                used,
                body,
            } => {
                pos += used;
                out.push(format!("#{seq} {} {:?}", head.target, body));
                if let Some(b) = lc.body() {
                    let mut sink = vec![0; 1024];
                    let (n, _) = b.decoder.decode(&input[pos..], &mut sink).unwrap();
                    pos += n;
                    assert!(b.decoder.is_done(), "body incomplete in test input");
                    lc.body_done();
                }
                let end = if lc.request_persists(seq) {
                    ResponseEnd::KeepAlive
                } else {
                    ResponseEnd::Close
                };
                lc.response_written(seq, end);
            }
        }
    }
    out.push(format!(
        "finished={} reason={:?}",
        lc.finished(),
        lc.reason()
    ));
    out
}

#[test]
fn keep_alive_then_close() {
    let got = run(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
    assert_eq!(
        got,
        [
            "#0 /a None",
            "#1 /b None",
            "finished=true reason=Some(ClientAskedClose)"
        ]
    );
}

#[test]
fn http10_ends_after_one_request_unless_keep_alive() {
    let got = run(b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
    assert_eq!(got, ["#0 /a None", "finished=true reason=Some(Http10)"]);
    let got = run(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
    assert_eq!(
        got,
        [
            "#0 /a None",
            "#1 /b None",
            "finished=true reason=Some(Http10)"
        ]
    );
}

#[test]
fn bodies_small_are_preread_large_or_continue_are_streamed() {
    let got = run(b"POST /s HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET /e HTTP/1.1\r\n\r\n");
    assert_eq!(
        got,
        [
            "#0 /s Preread",
            "#1 /c Preread",
            "#2 /e None",
            "finished=false reason=None"
        ]
    );
    let mut lc = Lifecycle::new();
    let now = Instant::now();
    match lc.parse(
        b"POST /big HTTP/1.1\r\nContent-Length: 17\r\n\r\n",
        &limits(),
        now,
    ) {
        Parse::Request { body, .. } => assert_eq!(body, BodyPlan::Stream),
        other => panic!("{other:?}"),
    }
    let mut lc = Lifecycle::new();
    match lc.parse(
        b"POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
        &limits(),
        now,
    ) {
        Parse::Request { body, .. } => assert_eq!(body, BodyPlan::Stream),
        other => panic!("{other:?}"),
    }
    assert!(matches!(lc.read_state(), ReadState::Body(b) if b.reader == BodyReader::Handler));
}

#[test]
fn a_bad_head_is_numbered_after_the_good_ones_and_ends_reading() {
    let got = run(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nContent-Length: x\r\n\r\n");
    assert_eq!(
        got,
        [
            "#0 /a None",
            "#1 error 400",
            "finished=false reason=Some(ProtocolError(BadRequest(\"invalid Content-Length value\")))"
        ]
    );
    // The error response is #1: once it is written, the connection is finished.
    let mut lc = Lifecycle::new();
    let now = Instant::now();
    assert!(matches!(
        lc.parse(b"BAD\x01 / HTTP/1.1\r\n\r\n", &limits(), now),
        Parse::Error { seq: 0, .. }
    ));
    assert!(!lc.finished());
    lc.response_written(0, ResponseEnd::Close);
    assert!(lc.finished());
    assert!(matches!(
        lc.parse(b"GET / HTTP/1.1\r\n\r\n", &limits(), now),
        Parse::Wait
    ));
}

#[test]
fn parsing_waits_when_too_many_responses_are_pending() {
    let mut lc = Lifecycle::new();
    let now = Instant::now();
    let req = b"GET / HTTP/1.1\r\n\r\n";
    for seq in 0..4 {
        assert!(matches!(lc.parse(req, &limits(), now), Parse::Request { seq: s, .. } if s == seq));
    }
    assert!(!lc.wants_input(&limits()));
    assert!(matches!(lc.parse(req, &limits(), now), Parse::Wait));
    lc.response_written(0, ResponseEnd::KeepAlive);
    assert!(lc.wants_input(&limits()));
    assert!(matches!(
        lc.parse(req, &limits(), now),
        Parse::Request { seq: 4, .. }
    ));
}

#[test]
fn upgrade_candidates_pause_parsing_until_their_response() {
    let mut lc = Lifecycle::new();
    let now = Instant::now();
    let req = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
    let Parse::Request { used, .. } = lc.parse(req, &limits(), now) else {
        panic!()
    };
    assert!(matches!(lc.read_state(), ReadState::Switching { seq: 0 }));
    assert!(matches!(
        lc.parse(&req[used..], &limits(), now),
        Parse::Wait
    ));
    // Answered without switching: parsing resumes.
    lc.response_written(0, ResponseEnd::KeepAlive);
    assert!(matches!(
        lc.parse(&req[used..], &limits(), now),
        Parse::Request { seq: 1, .. }
    ));

    let mut lc = Lifecycle::new();
    let _ = lc.parse(req, &limits(), now);
    lc.response_written(0, ResponseEnd::Upgrade);
    assert!(matches!(lc.read_state(), ReadState::Upgraded));
    assert_eq!(lc.reason(), Some(CloseReason::Upgrade));
    assert!(
        lc.finished(),
        "the HTTP side is finished; the upgraded stream owns the socket"
    );
}

#[test]
fn eof_between_requests_and_mid_request() {
    let mut lc = Lifecycle::new();
    lc.eof();
    assert_eq!(lc.reason(), Some(CloseReason::ClientClosed));
    assert!(lc.finished());

    let mut lc = Lifecycle::new();
    let now = Instant::now();
    assert!(matches!(lc.parse(b"GET / HT", &limits(), now), Parse::Wait));
    lc.eof();
    assert_eq!(lc.reason(), Some(CloseReason::ClientClosedEarly));
    assert!(lc.finished());

    // A request whose body was cut short is still answered, then the connection ends.
    let mut lc = Lifecycle::new();
    let _ = lc.parse(
        b"POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n",
        &limits(),
        now,
    );
    lc.eof();
    assert!(!lc.finished());
    assert!(!lc.request_persists(0));
    lc.response_written(0, ResponseEnd::Close);
    assert!(lc.finished());
}

#[test]
fn shutdown_stops_at_the_next_request_boundary() {
    let now = Instant::now();
    let mut idle = Lifecycle::new();
    idle.shutdown();
    assert!(idle.finished());

    let mut busy = Lifecycle::new();
    let _ = busy.parse(b"GET / HTTP/1.1\r\n\r\n", &limits(), now);
    busy.shutdown();
    assert!(!busy.finished());
    assert!(
        !busy.request_persists(0),
        "its response says Connection: close"
    );
    busy.response_written(0, ResponseEnd::Close);
    assert!(busy.finished());
    assert_eq!(busy.reason(), Some(CloseReason::Shutdown));

    let mut body = Lifecycle::new();
    let _ = body.parse(
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
        &limits(),
        now,
    );
    body.shutdown();
    body.body_done();
    assert!(matches!(body.read_state(), ReadState::Ended));
    assert!(!body.finished());
    body.response_written(0, ResponseEnd::Close);
    assert!(body.finished());
}

#[test]
fn the_first_reason_wins() {
    let mut lc = Lifecycle::new();
    let now = Instant::now();
    let _ = lc.parse(
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        &limits(),
        now,
    );
    lc.abort(CloseReason::IoError);
    assert_eq!(lc.reason(), Some(CloseReason::ClientAskedClose));
    assert!(lc.finished());
}

#[test]
fn read_deadlines_by_state() {
    let t = ReadTimeouts {
        head: Some(Duration::from_secs(10)),
        idle: Some(Duration::from_secs(60)),
        body_stall: Some(Duration::from_secs(5)),
        min_body_rate: Some((100, Duration::from_secs(2))),
    };
    let t0 = Instant::now();
    let mut lc = Lifecycle::new();
    assert_eq!(
        lc.read_deadline(&t, t0),
        Some((t0 + Duration::from_secs(60), ReadTimeout::Idle))
    );
    let _ = lc.parse(b"GET", &limits(), t0);
    assert_eq!(
        lc.read_deadline(&t, t0),
        Some((t0 + Duration::from_secs(10), ReadTimeout::Head))
    );
    let mut lc = Lifecycle::new();
    let _ = lc.parse(b"GET / HTTP/1.1\r\n\r\n", &limits(), t0);
    assert_eq!(
        lc.read_deadline(&t, t0),
        None,
        "a handler is working: not idle"
    );
    lc.response_written(0, ResponseEnd::KeepAlive);
    assert!(lc.read_deadline(&t, t0).is_some());

    // A body the loop reads: the minimum rate (2 s grace: 100 B/s) before the stall.
    let mut lc = Lifecycle::new();
    let _ = lc.parse(
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n",
        &limits(),
        t0,
    );
    assert_eq!(
        lc.read_deadline(&t, t0),
        Some((t0 + Duration::from_secs(2), ReadTimeout::Body))
    );
    let body = lc.body().unwrap();
    body.received = 1000; // 10 s of allowance at 100 B/s: the stall bounds it now
    body.last_progress = t0 + Duration::from_secs(1);
    assert_eq!(
        lc.read_deadline(&t, t0),
        Some((t0 + Duration::from_secs(6), ReadTimeout::Body))
    );
    assert_eq!(lc.timed_out(ReadTimeout::Body), Some((0, StatusCode(408))));
    // A handler reading its body has no read deadline here (it keeps its own).
    let mut lc = Lifecycle::new();
    let _ = lc.parse(
        b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n",
        &limits(),
        t0,
    );
    assert_eq!(lc.read_deadline(&t, t0), None);
}

#[test]
fn timeouts_answer_408_only_for_a_request_in_progress() {
    let t0 = Instant::now();
    let mut lc = Lifecycle::new();
    assert_eq!(lc.timed_out(ReadTimeout::Idle), None);
    assert!(lc.finished());
    let mut lc = Lifecycle::new();
    let _ = lc.parse(b"GET /slow", &limits(), t0);
    assert_eq!(lc.timed_out(ReadTimeout::Head), Some((0, StatusCode(408))));
    assert!(!lc.finished(), "the 408 is still to be written");
    lc.response_written(0, ResponseEnd::Close);
    assert!(lc.finished());
}

#[test]
fn persistence_table() {
    let all = Persistence {
        request: true,
        body_complete: true,
        delimited: true,
        server: true,
    };
    assert!(persists(all));
    for off in 0..4 {
        let mut p = all;
        match off {
            0 => p.request = false,
            1 => p.body_complete = false,
            2 => p.delimited = false,
            _ => p.server = false,
        }
        assert!(!persists(p), "{p:?}");
    }
}

#[test]
fn the_outcome_does_not_depend_on_how_bytes_arrive() {
    let input =
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi\
POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n\
GET /d HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n";
    let whole = transcript(input, &[], &limits());
    assert_eq!(
        whole,
        [
            "#0 request GET /a None",
            "#1 request POST /b Preread",
            "#1 body 2",
            "#2 request POST /c Preread",
            "#2 body 3",
            "#3 request GET /d None",
            "end finished=true reason=Some(ClientAskedClose)"
        ]
    );
    for step in 1..input.len() {
        assert_eq!(
            transcript(input, &[step], &limits()),
            whole,
            "pieces of {step}"
        );
    }
    assert_eq!(transcript(input, &[1, 7, 2, 30], &limits()), whole);
}

#[test]
fn rate_allowance_is_exact_and_bounded() {
    let rate = (1000, Duration::from_secs(1));
    assert_eq!(rate_allowance(0, rate), Duration::from_secs(1));
    assert_eq!(rate_allowance(5000, rate), Duration::from_secs(5));
    assert_eq!(rate_allowance(u64::MAX, (0, Duration::ZERO)), Duration::MAX);
    let t0 = Instant::now();
    assert_eq!(
        rate_deadline(t0, 2000, rate),
        Some(t0 + Duration::from_secs(2))
    );
    assert_eq!(earliest(None, Some(t0)), Some(t0));
    assert_eq!(
        earliest(Some(t0 + Duration::from_secs(1)), Some(t0)),
        Some(t0)
    );
}
