//! The usage example from README.md: one thread, a request loop, a response per request.
//!
//! Run with `cargo run --example readme-example`, then open the address it prints
//! (`http://127.0.0.1:8000/hello` by default; `--port` and `--bind` change it).

#[path = "support/cli.rs"]
mod cli;

use tiny_http::{Header, Response, Server};

const USAGE: &str = "usage: readme-example [--port PORT] [--bind ADDR]

Prints every request it receives and answers with its URL and body size.

  --port PORT   port to listen on (default 8000; 0 picks a free one)
  --bind ADDR   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -h, --help    print this help";

fn main() {
    let options = cli::parse(USAGE, 8000, &[], 0);
    cli::init_logging();
    let server = Server::http(options.addr)
        .unwrap_or_else(|e| cli::die(format_args!("cannot listen on {}", options.addr), e));
    println!("Listening on {}", cli::url(&server.server_addr()));

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
