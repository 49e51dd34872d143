//! Serves HTTPS: `cargo run --example ssl --features ssl-rustls`.
//!
//! Without arguments a self-signed certificate for `localhost` is generated at start-up and
//! written next to the system's temporary files, so that curl can trust it. Give your own with
//! `--cert chain.pem --key key.pem` (leaf first, then intermediates; the key in PKCS#8,
//! PKCS#1 or SEC1 PEM form), and the address with `--addr 0.0.0.0:8443`.

use tiny_http::{Response, Server, SslConfig};

fn main() {
    let mut cert_path = None;
    let mut key_path = None;
    let mut addr = String::from("127.0.0.1:8443");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--cert" => cert_path = Some(value()),
            "--key" => key_path = Some(value()),
            "--addr" => addr = value(),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }

    let (ssl, trust) = match (cert_path, key_path) {
        (Some(cert), Some(key)) => {
            let read = |path: &str| {
                std::fs::read(path).unwrap_or_else(|e| usage(&format!("cannot read {path}: {e}")))
            };
            let config = SslConfig {
                certificate: read(&cert),
                private_key: read(&key),
            };
            (config, format!("--cacert <the CA of {cert}>"))
        }
        (None, None) => {
            let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()])
                .expect("generating a certificate");
            let pem = generated.cert.pem();
            let path = std::env::temp_dir().join("tiny-http-example-cert.pem");
            std::fs::write(&path, &pem).expect("writing the certificate");
            let config = SslConfig {
                certificate: pem.into_bytes(),
                private_key: generated.key_pair.serialize_pem().into_bytes(),
            };
            (config, format!("--cacert {}", path.display()))
        }
        _ => usage("--cert and --key go together"),
    };

    let server = match Server::https(addr.as_str(), ssl) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot start the server: {e}");
            std::process::exit(1);
        }
    };
    let port = server.server_addr().to_ip().map_or(0, |a| a.port());
    println!("Serving HTTPS on {}. Try:", server.server_addr());
    println!("    curl {trust} https://localhost:{port}/");
    println!("    curl {trust} --data-binary @Cargo.toml https://localhost:{port}/echo");

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

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("{problem}");
    }
    eprintln!("usage: ssl [--addr HOST:PORT] [--cert CHAIN.pem --key KEY.pem]");
    std::process::exit(2);
}
