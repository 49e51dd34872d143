//! Serves HTTPS: `cargo run --example ssl --features ssl-rustls` (or `ssl-openssl`).
//!
//! Without arguments a self-signed certificate for `localhost` is generated at start-up and
//! written next to the system's temporary files, so that curl can trust it. Give your own with
//! `--cert chain.pem --key key.pem` (leaf first, then intermediates; the key in PKCS#8,
//! PKCS#1 or SEC1 PEM form), and the address with `--port` and `--bind`.

#[path = "support/cli.rs"]
mod cli;

use tiny_http::{Response, Server, SslConfig};

const USAGE: &str = "usage: ssl [--port PORT] [--bind ADDR] [--cert CHAIN.pem --key KEY.pem]

Serves HTTPS; without --cert and --key, with a self-signed certificate for localhost.

  --port PORT        port to listen on (default 8443; 0 picks a free one)
  --bind ADDR        address to listen on (default 127.0.0.1)
  --cert CHAIN.pem   certificate chain, leaf first
  --key KEY.pem      private key (PKCS#8, PKCS#1 or SEC1)
  -h, --help         print this help";

fn main() {
    let options = cli::parse(USAGE, 8443, &["--cert", "--key"], 0);
    cli::init_logging();
    let get = |name: &str| {
        options
            .extra
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };

    let (ssl, trust) = match (get("--cert"), get("--key")) {
        (Some(cert), Some(key)) => {
            let read = |path: &str| {
                std::fs::read(path)
                    .unwrap_or_else(|e| cli::die(format_args!("cannot read {path}"), e))
            };
            let config = SslConfig {
                certificate: read(&cert),
                private_key: read(&key),
            };
            (config, format!("--cacert <the CA of {cert}>"))
        }
        (None, None) => {
            let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()])
                .unwrap_or_else(|e| cli::die("cannot generate a certificate", e));
            let pem = generated.cert.pem();
            let path = std::env::temp_dir().join("tiny-http-example-cert.pem");
            if let Err(e) = std::fs::write(&path, &pem) {
                cli::die(format_args!("cannot write {}", path.display()), e);
            }
            let config = SslConfig {
                certificate: pem.into_bytes(),
                private_key: generated.key_pair.serialize_pem().into_bytes(),
            };
            (config, format!("--cacert {}", path.display()))
        }
        _ => cli::fail(USAGE, "--cert and --key go together"),
    };

    let server = Server::https(options.addr, ssl)
        .unwrap_or_else(|e| cli::die(format_args!("cannot serve HTTPS on {}", options.addr), e));
    let addr = server
        .server_addr()
        .to_ip()
        .expect("a TCP server has an IP address");
    let host = if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    println!("Serving HTTPS on {addr}. Try:");
    println!("    curl {trust} https://{host}:{}/", addr.port());
    println!(
        "    curl {trust} --data-binary @Cargo.toml https://{host}:{}/echo",
        addr.port()
    );

    for mut request in server.incoming_requests() {
        let mut body = Vec::new();
        if let Err(e) = request.as_reader().read_to_end(&mut body) {
            eprintln!("reading a request body: {e}");
            continue;
        }
        let text = format!(
            "Hello over TLS! {} {} (secure: {}, {} body bytes)\n",
            request.method(),
            request.url(),
            request.secure(),
            body.len()
        );
        let response = if request.url() == "/echo" {
            Response::from_data(body)
        } else {
            Response::from_string(text)
        };
        if let Err(e) = request.respond(response) {
            eprintln!("responding: {e}");
        }
    }
}
