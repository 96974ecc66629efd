//! The client under test: a command run once per case with `{url}` (and `{cacert}`) replaced,
//! killed when the case is decided.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to run the client.
pub struct ClientCommand {
    pub argv: Vec<String>,
    /// `https` when the scripted servers speak TLS.
    pub scheme: &'static str,
    /// The certificate the scripted servers present (PEM file), for `{cacert}`.
    pub cacert: Option<String>,
}

/// One run of the command.
pub struct Running {
    child: Child,
    pub url: String,
}

impl ClientCommand {
    /// Starts the command against `listener`'s address.
    pub fn start(&self, listener: &TcpListener) -> Result<Running, String> {
        let port = listener
            .local_addr()
            .map_err(|e| format!("listener: {e}"))?
            .port();
        let host = if self.scheme == "https" {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let url = format!("{}://{host}:{port}/h2kit-check", self.scheme);
        let argv: Vec<String> = self
            .argv
            .iter()
            .map(|a| {
                a.replace("{url}", &url)
                    .replace("{cacert}", self.cacert.as_deref().unwrap_or(""))
            })
            .collect();
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the client command `{}`: {e}", argv[0]))?;
        Ok(Running { child, url })
    }
}

impl Running {
    /// The exit status if the command has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `deadline` for the command to end.
    pub fn wait_until(&mut self, deadline: Instant) -> Option<std::process::ExitStatus> {
        loop {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The next connection, or why none came: the command ended without connecting, or the
    /// deadline passed.
    pub fn accept(&mut self, l: &TcpListener, deadline: Instant) -> Result<TcpStream, String> {
        l.set_nonblocking(true)
            .map_err(|e| format!("listener: {e}"))?;
        loop {
            match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false)
                        .map_err(|e| format!("socket: {e}"))?;
                    return Ok(s);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("accept failed: {e}")),
            }
            if let Some(status) = self.exited() {
                return Err(format!(
                    "the client command ended ({status}) without connecting to {}",
                    self.url
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the client command did not connect to {} within the case's timeout",
                    self.url
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
