//! What the ops tests share: a running `tripgate demo`, plain HTTP GETs (no
//! client crate: the tests only read small local responses), external tools
//! named by environment variables, and headless Chromium.
#![allow(dead_code)] // each test crate uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The workspace root (deploy/ and config/ live there).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The tool an environment variable names, or `None` after saying on stderr
/// why the test is skipped (scripts/test.sh sets them all).
pub fn tool(variable: &str, test: &str) -> Option<PathBuf> {
    match std::env::var_os(variable).filter(|v| !v.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            // Straight to the process's stderr: the test harness captures eprintln!,
            // and a skipped check must be seen.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {variable} is not set (scripts/test.sh sets it; run scripts/setup.sh to install the tool)");
            None
        }
    }
}

/// A `tripgate demo` child process, killed when dropped.
pub struct Demo {
    child: Child,
    /// host:port of /, /metrics, /healthz and /readyz.
    pub address: String,
    /// Everything it printed so far.
    pub story: Arc<Mutex<Vec<String>>>,
}

impl Demo {
    pub fn start(seconds: u32, hours: u32) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tripgate"))
            .args([
                "demo",
                "--seconds",
                &seconds.to_string(),
                "--hours",
                &hours.to_string(),
            ])
            .env("TRIPGATE__SERVER__LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tripgate demo");
        let story = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let lines = story.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        let mut demo = Demo {
            child,
            address: String::new(),
            story,
        };
        demo.address = demo
            .wait_for_line(Duration::from_secs(60), |line| {
                line.trim().starts_with("metrics:")
            })
            .trim()
            .trim_start_matches("metrics:")
            .trim()
            .trim_start_matches("http://")
            .trim_end_matches("/metrics")
            .to_string();
        demo
    }

    /// The first printed line that `matches`, waiting up to `limit`.
    pub fn wait_for_line(&self, limit: Duration, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.story.lock().unwrap().iter().find(|l| matches(l)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "the demo never printed the line awaited:\n{}",
                self.story.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `path` from `address`; returns the status code and body. HTTP/1.0, so
/// servers answer without chunked encoding and close the connection.
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    let mut stream =
        TcpStream::connect(address).unwrap_or_else(|e| panic!("connect {address}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A loopback port free right now (a tiny race with other processes is
/// acceptable in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Headless Chromium: the page's DOM after load, and a PNG of it.
pub fn chromium_dom(chromium: &Path, url: &str) -> String {
    let (mut command, profile) = chromium_command(chromium);
    let output = command
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(profile);
    assert!(
        output.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn chromium_screenshot(chromium: &Path, url: &str, png: &Path, height: u32) {
    let (mut command, profile) = chromium_command(chromium);
    let output = command
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size=1280,{height}"))
        .arg(url)
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(profile);
    assert!(
        output.status.success() && png.exists(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The command and the throwaway profile directory it uses.
fn chromium_command(chromium: &Path) -> (Command, PathBuf) {
    // A profile per run: two Chromiums sharing one would wait on its lock.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile =
        std::env::temp_dir().join(format!("tripgate-chromium-{}-{run}", std::process::id()));
    let mut command = Command::new(chromium);
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    command.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--no-first-run",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command.stdin(Stdio::null());
    (command, profile)
}

/// Text content of an HTML fragment, tags dropped and entities of `escape` undone:
/// what a person reads.
pub fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut skip_until: Option<&str> = None;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if let Some(end) = skip_until {
            match rest.find(end) {
                Some(at) => {
                    rest = &rest[at + end.len()..];
                    skip_until = None;
                    continue;
                }
                None => break,
            }
        }
        if rest.starts_with("<style") {
            skip_until = Some("</style>");
        } else if c == '<' {
            in_tag = true;
        } else if c == '>' {
            in_tag = false;
            text.push(' ');
        } else if !in_tag {
            text.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
