//! The smallest server: answers "hello world" to every request.
//!
//! Run with `cargo run --example hello-world`, then open the address it prints
//! (`http://127.0.0.1:9975/` by default; `--port` and `--bind` change it). Four worker threads
//! share one `Server`; connections cost no thread of their own. `RUST_LOG=debug` shows what
//! the library logs.

#[path = "support/cli.rs"]
mod cli;

use std::sync::Arc;
use std::thread;

use tiny_http::{Response, Server};

const USAGE: &str = "usage: hello-world [--port PORT] [--bind ADDR]

Answers \"hello world\" to every request.

  --port PORT   port to listen on (default 9975; 0 picks a free one)
  --bind ADDR   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -h, --help    print this help";

fn main() {
    let options = cli::parse(USAGE, 9975, &[], 0);
    cli::init_logging();
    let server = match Server::http(options.addr) {
        Ok(server) => Arc::new(server),
        Err(e) => cli::die(format_args!("cannot listen on {}", options.addr), e),
    };
    println!("Listening on {}", cli::url(&server.server_addr()));

    let workers: Vec<_> = (0..4)
        .map(|_| {
            let server = Arc::clone(&server);
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    let response = Response::from_string("hello world");
                    if let Err(e) = request.respond(response) {
                        eprintln!("could not respond: {e}");
                    }
                }
            })
        })
        .collect();

    for worker in workers {
        let _ = worker.join();
    }
}
