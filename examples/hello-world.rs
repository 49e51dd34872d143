//! The smallest server: answers "hello world" to every request.
//!
//! Run with `cargo run --example hello-world [PORT]`, then open http://localhost:9975/.
//! Four worker threads share one `Server`; connections cost no thread of their own.

use std::sync::Arc;
use std::thread;

use tiny_http::{Response, Server};

fn main() {
    let port = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "9975".to_string());
    let server = Arc::new(Server::http(format!("0.0.0.0:{port}")).expect("bind"));
    println!("Now listening on http://{}", server.server_addr());

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
