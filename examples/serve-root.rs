//! A static file server for a directory (the current one by default).
//!
//! Run with `cargo run --release --example serve-root` and open the printed address
//! (`http://127.0.0.1:8000/` by default; `--port`, `--bind` and a directory change it). Files are streamed from disk with `Response::from_file`; a directory
//! serves its `index.html`. Paths containing `..` are refused, missing files get 404.

#[path = "support/cli.rs"]
mod cli;

use std::fs::File;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread;

use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

/// A Content-Type for a file name, by extension.
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" | "rs" | "toml" | "lock" | "sh" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Decodes `%XX` escapes; `None` when the result is not UTF-8 or an escape is broken.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a request target to a path under `root`, or `None` when it tries to leave it.
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let mut out = root.to_path_buf();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            // `..`, a root or a prefix would escape the served directory.
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn text(status: u16, message: &str) -> tiny_http::ResponseBox {
    Response::from_string(message)
        .with_status_code(StatusCode(status))
        .boxed()
}

fn handle(root: &Path, request: &Request) -> tiny_http::ResponseBox {
    if !matches!(request.method(), Method::Get | Method::Head) {
        return text(405, "405 Method Not Allowed\n")
            .with_header(Header::from_bytes("Allow", "GET, HEAD").unwrap());
    }
    let Some(mut path) = resolve(root, request.url()) else {
        return text(403, "403 Forbidden\n");
    };
    if path.is_dir() {
        path.push("index.html");
    }
    match File::open(&path) {
        Ok(file) if file.metadata().map(|m| m.is_file()).unwrap_or(false) => {
            let content_type = Header::from_bytes("Content-Type", content_type(&path)).unwrap();
            Response::from_file(file).with_header(content_type).boxed()
        }
        _ => text(404, "404 Not Found\n"),
    }
}

const USAGE: &str = "usage: serve-root [--port PORT] [--bind ADDR] [DIR]

Serves the files under DIR (default: the current directory) over HTTP.

  --port PORT   port to listen on (default 8000; 0 picks a free one)
  --bind ADDR   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -h, --help    print this help";

fn main() {
    let options = cli::parse(USAGE, 8000, &[], 1);
    cli::init_logging();
    let root = match options.positional.first() {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir()
            .unwrap_or_else(|e| cli::die("cannot read the current directory", e)),
    };
    if !root.is_dir() {
        cli::fail(USAGE, format_args!("not a directory: {}", root.display()));
    }
    let server = match Server::http(options.addr) {
        Ok(server) => Arc::new(server),
        Err(e) => cli::die(format_args!("cannot listen on {}", options.addr), e),
    };
    println!(
        "Serving {} on {}",
        root.display(),
        cli::url(&server.server_addr())
    );

    let workers: Vec<_> = (0..4)
        .map(|_| {
            let server = Arc::clone(&server);
            let root = root.clone();
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    let response = handle(&root, &request);
                    println!(
                        "{} {} -> {}",
                        request.method(),
                        request.url(),
                        response.status_code().0
                    );
                    let _ = request.respond(response);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}
