//! A real third-party HTTP client (`ureq` 2) talking to the server.

mod support;

use std::time::Duration;

use support::{header, serve};
use tiny_http::{Request, Response};

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
}

fn handler(mut rq: Request) {
    let mut body = String::new();
    let _ = rq.as_reader().read_to_string(&mut body);
    let text = format!(
        "{} {} len={} body={body}",
        rq.method(),
        rq.url(),
        body.len()
    );
    let status = if rq.url() == "/missing" { 404 } else { 200 };
    let _ = rq.respond(
        Response::from_string(text)
            .with_status_code(status)
            .with_header(header("X-Served-By: tiny_http-tests")),
    );
}

#[test]
fn ureq_get_and_post() {
    let srv = serve(2, handler);
    let base = format!("http://{}", srv.addr());
    let agent = agent();

    let r = agent.get(&format!("{base}/hello?q=1")).call().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("x-served-by"), Some("tiny_http-tests"));
    assert_eq!(r.content_type(), "text/plain");
    assert_eq!(r.into_string().unwrap(), "GET /hello?q=1 len=0 body=");

    // The agent reuses its pooled connection for these.
    for i in 0..5 {
        let r = agent
            .post(&format!("{base}/form"))
            .send_string(&format!("payload {i}"))
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.into_string().unwrap(),
            format!("POST /form len=9 body=payload {i}")
        );
    }

    let big = "z".repeat(200_000);
    let r = agent.put(&format!("{base}/big")).send_string(&big).unwrap();
    assert_eq!(
        r.into_string().unwrap(),
        format!("PUT /big len=200000 body={big}")
    );

    match agent.get(&format!("{base}/missing")).call() {
        Err(ureq::Error::Status(404, r)) => {
            assert_eq!(r.into_string().unwrap(), "GET /missing len=0 body=")
        }
        other => panic!("expected a 404, got {other:?}"),
    }
}

#[test]
fn ureq_reads_a_large_chunked_response() {
    let srv = serve(2, |rq: Request| {
        let _ = rq.respond(Response::from_data(vec![b'q'; 1_000_000]));
    });
    let r = agent()
        .get(&format!("http://{}/", srv.addr()))
        .call()
        .unwrap();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
    assert_eq!(body.len(), 1_000_000);
    assert!(body.iter().all(|&b| b == b'q'));
}
