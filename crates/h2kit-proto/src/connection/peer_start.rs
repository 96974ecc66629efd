//! A client's first look at what the server sent: HTTP/2 frames, or a peer that does not speak
//! HTTP/2 (an HTTP/1.x status line, a TLS record, other bytes), named so that the user learns
//! why instead of seeing a lost connection.

/// What the start of the server's bytes says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ServerStart {
    /// Too few bytes to tell.
    Wait,
    /// A frame header, as HTTP/2 begins (the engine's own rules judge it further).
    Frames,
    /// Not HTTP/2: why, in words.
    NotHttp2(String),
}

const NO_H2C: &str = "it does not speak HTTP/2 with prior knowledge (h2c)";

/// The longest status line looked for.
const MAX_LINE: usize = 200;

/// Judges the first bytes a client received.
pub(super) fn judge(b: &[u8]) -> ServerStart {
    if b.starts_with(b"HTTP/") {
        let end = b
            .iter()
            .take(MAX_LINE)
            .position(|&c| c == b'\r' || c == b'\n');
        let line = match end {
            Some(n) => &b[..n],
            None if b.len() < MAX_LINE => return ServerStart::Wait,
            None => &b[..MAX_LINE],
        };
        return ServerStart::NotHttp2(format!(
            "the server answered in HTTP/1.1 (`{}`): {NO_H2C}",
            printable(line)
        ));
    }
    if b.is_empty() || (b.len() < 5 && b"HTTP/".starts_with(b)) {
        return ServerStart::Wait;
    }
    // A TLS record: content type 20..=23, then version 3.x.
    if b.len() >= 2 && (0x14..=0x17).contains(&b[0]) && b[1] == 0x03 {
        return ServerStart::NotHttp2(
            "the server answered in TLS: it expects https:// rather than cleartext HTTP/2".into(),
        );
    }
    if b.len() < 9 {
        return ServerStart::Wait;
    }
    // A frame header: a known type on stream 0 or a plausible stream, reserved bit clear.
    let kind = b[3];
    let reserved = b[5] & 0x80 != 0;
    let length = u32::from_be_bytes([0, b[0], b[1], b[2]]);
    if kind <= 9 && !reserved && length <= 1 << 20 {
        return ServerStart::Frames;
    }
    let shown = &b[..b.len().min(16)];
    ServerStart::NotHttp2(format!(
        "the server answered with bytes that are not HTTP/2 frames (\"{}\"): {NO_H2C}",
        printable(shown)
    ))
}

/// Bytes as text, anything not printable ASCII escaped as `\xNN`.
fn printable(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if (0x20..0x7f).contains(&c) {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http1_status_line_is_named() {
        let s = judge(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            s,
            ServerStart::NotHttp2(
                "the server answered in HTTP/1.1 (`HTTP/1.0 400 Bad Request`): it does not \
                 speak HTTP/2 with prior knowledge (h2c)"
                    .into()
            )
        );
        assert_eq!(judge(b"HTT"), ServerStart::Wait);
        assert_eq!(
            judge(b"HTTP/1.1 200 OK"),
            ServerStart::Wait,
            "line not ended yet"
        );
    }

    #[test]
    fn settings_and_other_frames_pass() {
        assert_eq!(judge(&[0, 0, 0, 4, 0, 0, 0, 0, 0]), ServerStart::Frames);
        assert_eq!(judge(&[0, 0, 8, 7, 0, 0, 0, 0, 0]), ServerStart::Frames);
        assert_eq!(judge(&[0, 0, 0, 4]), ServerStart::Wait);
    }

    #[test]
    fn tls_and_garbage_are_named() {
        let tls = judge(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]);
        assert!(matches!(tls, ServerStart::NotHttp2(s) if s.contains("answered in TLS")));
        let junk = judge(b"SSH-2.0-OpenSSH_9.6\r\n");
        assert!(
            matches!(&junk, ServerStart::NotHttp2(s) if s.contains("not HTTP/2 frames (\"SSH-2.0-OpenSSH_")),
            "{junk:?}"
        );
    }
}
