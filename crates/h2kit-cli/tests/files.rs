//! `h2kit serve --root DIR` under curl and nghttp: files with their types, validators and
//! conditional requests, HEAD, directories, and nothing outside DIR.

mod common;

use std::os::unix::fs::symlink;

use common::{h2kit, peer, Scratch, Served};

/// `curl --http2-prior-knowledge` with `args`: (status, headers, body).
fn curl(url: &str, args: &[&str]) -> (u16, String, Vec<u8>) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = Scratch::new(&format!("files-curl-{n}"));
    let headers = dir.path("headers");
    let mut all = vec!["-sS", "--http2-prior-knowledge", "-D", &headers];
    all.extend_from_slice(args);
    all.push(url);
    let out = peer("curl", &all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = std::fs::read_to_string(&headers).unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, out.stdout)
}

/// A response header's value (HTTP/2 field names are lowercase).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

struct Site {
    _dir: Scratch,
    _outside: Scratch,
    served: Served,
    big: Vec<u8>,
}

/// The test site; `name` keeps the scratch directories of tests running at once apart.
fn site(name: &str) -> Site {
    let dir = Scratch::new(&format!("files-root-{name}"));
    let outside = Scratch::new(&format!("files-outside-{name}"));
    let root = std::path::Path::new(&dir.0);
    std::fs::write(root.join("index.html"), "<!doctype html><p>home</p>\n").unwrap();
    std::fs::create_dir_all(root.join("css")).unwrap();
    std::fs::write(root.join("css/site.css"), "body { margin: 0 }\n").unwrap();
    std::fs::create_dir_all(root.join("plain")).unwrap();
    std::fs::write(root.join("plain/a<b.txt"), "angle\n").unwrap();
    // Three MiB that are not all alike: streamed in chunks, compared whole.
    let big: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(root.join("big.bin"), &big).unwrap();
    std::fs::write(outside.path("secret.txt"), "secret\n").unwrap();
    symlink(outside.path("secret.txt"), root.join("leak.txt")).unwrap();
    symlink(root.join("css/site.css"), root.join("alias.css")).unwrap();
    let served = Served::start(&["--h2c", "--root", &dir.0.to_string_lossy()]);
    Site {
        _dir: dir,
        _outside: outside,
        served,
        big,
    }
}

#[test]
fn files_come_with_their_type_and_validators_and_answer_conditional_requests() {
    let s = site("types");
    let u = |p: &str| s.served.url(p);
    let (code, head, body) = curl(&u("/"), &[]);
    assert_eq!(code, 200);
    assert_eq!(body, b"<!doctype html><p>home</p>\n");
    assert_eq!(
        header(&head, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let (code, head, body) = curl(&u("/css/site.css"), &[]);
    assert_eq!((code, body.as_slice()), (200, &b"body { margin: 0 }\n"[..]));
    assert_eq!(
        header(&head, "content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(header(&head, "content-length"), Some("19"));
    let etag = header(&head, "etag").expect("an etag").to_string();
    let modified = header(&head, "last-modified")
        .expect("last-modified")
        .to_string();
    assert!(modified.ends_with(" GMT"), "{modified}");

    // RFC 9110 §13.1: a matching validator is 304 without a body.
    let inm = format!("If-None-Match: {etag}");
    let (code, _, body) = curl(&u("/css/site.css"), &["-H", &inm]);
    assert_eq!((code, body.len()), (304, 0));
    let weak = format!("If-None-Match: \"other\", W/{etag}");
    assert_eq!(curl(&u("/css/site.css"), &["-H", &weak]).0, 304);
    let other = "If-None-Match: \"other\"";
    assert_eq!(curl(&u("/css/site.css"), &["-H", other]).0, 200);
    let ims = format!("If-Modified-Since: {modified}");
    assert_eq!(curl(&u("/css/site.css"), &["-H", &ims]).0, 304);
    let long_ago = "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT";
    assert_eq!(curl(&u("/css/site.css"), &["-H", long_ago]).0, 200);
    // An invalid date is ignored (§13.1.3).
    assert_eq!(
        curl(&u("/css/site.css"), &["-H", "If-Modified-Since: yesterday"]).0,
        200
    );
    // If-None-Match wins over If-Modified-Since (§13.2.2).
    assert_eq!(curl(&u("/css/site.css"), &["-H", other, "-H", &ims]).0, 200);

    // HEAD: the same head, no body.
    let (code, head, body) = curl(&u("/css/site.css"), &["-I"]);
    assert_eq!(code, 200);
    assert_eq!(header(&head, "content-length"), Some("19"));
    assert_eq!(header(&head, "etag"), Some(etag.as_str()));
    assert!(
        String::from_utf8_lossy(&body).starts_with("HTTP/2 200"),
        "-I prints the head"
    );

    // A large file streams whole; nghttp agrees.
    let (code, _, body) = curl(&u("/big.bin"), &[]);
    assert_eq!(code, 200);
    assert!(body == s.big, "3 MiB differ");
    let out = peer("nghttp", &[&u("/big.bin")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == s.big, "nghttp got other bytes");
}

#[test]
fn directories_redirect_to_their_slash_and_list_escaped_names() {
    let s = site("dirs");
    let u = |p: &str| s.served.url(p);
    let (code, head, _) = curl(&u("/css"), &[]);
    assert_eq!(code, 301);
    assert_eq!(header(&head, "location"), Some("/css/"));
    let (code, head, body) = curl(&u("/plain/"), &[]);
    assert_eq!(code, 200);
    assert_eq!(
        header(&head, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("<a href=\"a&lt;b.txt\">a&lt;b.txt</a>"),
        "{html}"
    );
    assert!(!html.contains("a<b"), "{html}");
    // Percent-encoded names are decoded.
    let (code, _, body) = curl(&u("/plain/a%3Cb.txt"), &[]);
    assert_eq!((code, body.as_slice()), (200, &b"angle\n"[..]));
}

#[test]
fn nothing_outside_the_root_and_the_built_in_routes_stay() {
    let s = site("outside");
    let u = |p: &str| s.served.url(p);
    // Dot-segments a client would have removed (RFC 3986 §5.2.4): a bad request.
    let as_is = ["--path-as-is"];
    assert_eq!(curl(&u("/css/../../secret.txt"), &as_is).0, 400);
    assert_eq!(curl(&u("/css/%2e%2e/%2e%2e/secret.txt"), &as_is).0, 400);
    assert_eq!(curl(&u("/a%00b"), &[]).0, 400);
    // A symbolic link out of the root is forbidden; one inside it is followed.
    let (code, _, body) = curl(&u("/leak.txt"), &[]);
    assert_eq!(code, 403);
    assert!(!String::from_utf8_lossy(&body).contains("secret"));
    assert_eq!(curl(&u("/alias.css"), &[]).0, 200);
    assert_eq!(curl(&u("/missing.txt"), &[]).0, 404);
    // Only GET and HEAD.
    let (code, head, _) = curl(&u("/css/site.css"), &["-X", "POST", "-d", "x"]);
    assert_eq!(code, 405);
    assert_eq!(header(&head, "allow"), Some("GET, HEAD"));
    // The built-in routes other than / are still there.
    assert_eq!(curl(&u("/bytes/5"), &[]).2.len(), 5);
    assert_eq!(curl(&u("/echo"), &["-d", "round trip"]).2, b"round trip");
    assert_eq!(curl(&u("/status/418"), &[]).0, 418);
}

#[test]
fn a_root_that_is_not_a_directory_is_one_line_and_exit_2() {
    let dir = Scratch::new("files-bad-root");
    let file = dir.path("file.txt");
    std::fs::write(&file, "x").unwrap();
    let (code, _, err) = h2kit("serve", &["--root", &file]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("--root {file}: not a directory")),
        "{err}"
    );
    let missing = dir.path("missing");
    let (code, _, err) = h2kit("serve", &["--root", &missing]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("--root {missing}: no such directory")),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
