//! [`TestRequest`]: build a [`Request`] with no network, to unit-test handlers.

use std::net::SocketAddr;

use crate::{HTTPVersion, Header, Method, Request};

/// A builder for [`Request`]s that need no server or socket: the body comes from memory and
/// the response is discarded.
///
/// Defaults: `GET /`, HTTP/1.1, no headers, empty body, remote address `127.0.0.1:23456`,
/// not secure.
///
/// ```
/// use tiny_http::{Method, Request, Response, TestRequest};
///
/// fn handle(request: Request) -> (String, usize) {
///     let path = request.url().to_string();
///     let len = request.body_length().unwrap_or(0);
///     request.respond(Response::from_string("ok")).unwrap();
///     (path, len)
/// }
///
/// let request = TestRequest::new()
///     .with_method(Method::Post)
///     .with_path("/upload")
///     .with_body("hello");
/// assert_eq!(handle(request.into()), ("/upload".to_string(), 5));
/// ```
#[derive(Debug, Clone)]
pub struct TestRequest {
    body: &'static str,
    remote_addr: SocketAddr,
    secure: bool,
    method: Method,
    path: String,
    http_version: HTTPVersion,
    headers: Vec<Header>,
}

impl Default for TestRequest {
    fn default() -> Self {
        TestRequest {
            body: "",
            remote_addr: SocketAddr::from(([127, 0, 0, 1], 23456)),
            secure: false,
            method: Method::Get,
            path: "/".to_string(),
            http_version: HTTPVersion(1, 1),
            headers: Vec::new(),
        }
    }
}

impl TestRequest {
    /// A `GET /` request over HTTP/1.1 with no headers and no body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the body.
    pub fn with_body(mut self, body: &'static str) -> Self {
        self.body = body;
        self
    }

    /// Sets the client's address.
    pub fn with_remote_addr(mut self, remote_addr: SocketAddr) -> Self {
        self.remote_addr = remote_addr;
        self
    }

    /// Marks the request as received over TLS.
    pub fn with_https(mut self) -> Self {
        self.secure = true;
        self
    }

    /// Sets the method.
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Sets the request target (path and query).
    pub fn with_path(mut self, path: &str) -> Self {
        self.path = path.to_string();
        self
    }

    /// Sets the HTTP version.
    pub fn with_http_version(mut self, version: HTTPVersion) -> Self {
        self.http_version = version;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, header: Header) -> Self {
        self.headers.push(header);
        self
    }
}

impl From<TestRequest> for Request {
    fn from(t: TestRequest) -> Request {
        Request::in_memory(
            t.method,
            t.path,
            t.headers,
            t.http_version,
            t.body.as_bytes().to_vec(),
            Some(t.remote_addr),
            t.secure,
        )
    }
}
