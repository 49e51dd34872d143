//! The usage example from README.md: one thread, a request loop, a response per request.
//!
//! Run with `cargo run --example readme-example`, then open http://localhost:8000/hello.

use tiny_http::{Header, Response, Server};

fn main() {
    let server = Server::http("0.0.0.0:8000").unwrap();
    println!("Listening on http://{}", server.server_addr());

    for mut request in server.incoming_requests() {
        println!(
            "received request! method: {:?}, url: {:?}, headers: {:?}",
            request.method(),
            request.url(),
            request.headers()
        );

        let mut body = String::new();
        if let Err(e) = request.as_reader().read_to_string(&mut body) {
            eprintln!("unreadable body: {e}");
        }

        let response = Response::from_string(format!(
            "You asked for {} with a {} byte body\n",
            request.url(),
            body.len()
        ))
        .with_header(Header::from_bytes(&b"X-Powered-By"[..], &b"tiny_http"[..]).unwrap());
        let _ = request.respond(response);
    }
}
