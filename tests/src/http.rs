//! `reprise serve` as a process, and a plain HTTP/1.1 client over a TCP
//! socket on loopback: the tests speak the protocol the way any client
//! does, and can send what a library would refuse to (malformed JSON,
//! oversized bodies, odd methods).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::{TEST_LEASE_MS, reprise_bin};

/// A `reprise serve` process on a database, killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `reprise --db DB serve` on a free loopback port with `args`
    /// added, and waits until it listens.
    pub fn spawn(db: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(reprise_bin())
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0", "--wait-for-lease"])
            .args(args)
            .env("REPRISE_LEASE_MS", TEST_LEASE_MS.to_string())
            .env_remove("REPRISE_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start reprise serve");
        let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            let read = stderr.read_line(&mut line).expect("read the server's log");
            assert!(read > 0, "reprise serve exited before it listened");
            if let Some(rest) = line.split("serving http://").nth(1) {
                let addr = rest.split_whitespace().next().expect("an address");
                break addr.parse().expect("a socket address");
            }
        };
        // Keep draining its log, so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Self { child, addr }
    }

    /// A client of this server, with no token.
    pub fn client(&self) -> Http {
        Http {
            addr: self.addr,
            token: None,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON (panics, showing the body, if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of a JSON error body, checking the body's status
    /// matches the response's.
    pub fn error_code(&self) -> String {
        let body = self.json();
        assert_eq!(body["error"]["status"], self.status, "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
        body["error"]["code"]
            .as_str()
            .expect("an error code")
            .to_owned()
    }
}

/// A client: one connection per request (`Connection: close`).
#[derive(Debug, Clone)]
pub struct Http {
    /// The server.
    pub addr: SocketAddr,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
}

impl Http {
    /// `method path` with `body` (sent as JSON when given).
    pub fn send(&self, method: &str, path: &str, body: Option<&[u8]>) -> Response {
        self.send_typed(method, path, body.map(|b| ("application/json", b)))
    }

    /// `method path` with a body of the given content type.
    pub fn send_typed(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Response {
        self.request(method, path, &[], body)
    }

    /// POST with a JSON body and more headers.
    pub fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        let body = Some(("application/json", body.as_bytes()));
        self.request("POST", path, headers, body)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Response {
        let mut stream = TcpStream::connect(self.addr).expect("connect to the server");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(token) = &self.token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let Some((content_type, body)) = body {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send the request");
        if let Some((_, body)) = body {
            // The server may answer (413) and close before reading it all.
            let _ = stream.write_all(body);
        }
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        parse(&raw)
    }

    /// GET.
    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, None)
    }

    /// POST with a JSON body.
    pub fn post(&self, path: &str, body: &str) -> Response {
        self.send("POST", path, Some(body.as_bytes()))
    }

    /// POST a component's bytes.
    pub fn upload(&self, path: &str, bytes: &[u8]) -> Response {
        self.send_typed("POST", path, Some(("application/wasm", bytes)))
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Response {
        self.send("DELETE", path, None)
    }
}

/// Parses a whole HTTP/1.1 response (fixed length or chunked body).
fn parse(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .expect("a hex chunk size");
        if size == 0 {
            return body;
        }
        let start = line_end + 2;
        body.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}
