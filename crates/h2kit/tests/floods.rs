//! Flood attackers against h2kit's server, each beside a legitimate h2kit client on the same
//! server: the attacker's connection ends with GOAWAY(ENHANCE_YOUR_CALM) within a bounded
//! number of frames, the legitimate client completes every request, and the server's stats
//! say why the connection was ended.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use h2kit::stats::ServerStats;
use h2kit::{Client, RecvBody, ServerConfig};
use h2kit_test_support::client::get;
use h2kit_test_support::{server, wire};
use http_body_util::{BodyExt, Full};

/// The tests that bound the server's memory (RSS) hold this exclusively, the others shared:
/// the resident memory of a process running other tests at the same time says nothing.
static MEMORY: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn server() -> (SocketAddr, std::sync::Arc<ServerStats>) {
    let svc = tower::service_fn(|_: http::Request<RecvBody>| async {
        // Some work per request, which a rapid reset would otherwise multiply.
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let s = server::spawn(ServerConfig::default(), svc).await;
    (s.addr, s.stats)
}

/// The preface and an empty SETTINGS: an attacker's first bytes.
fn hello() -> Vec<u8> {
    let mut b = wire::PREFACE.to_vec();
    b.extend(wire::settings(&[]));
    b
}

/// GET / (static table indexes and a literal :authority).
const GET: [u8; 6] = [0x82, 0x86, 0x84, 0x01, 0x01, b'a'];

/// Reads frames from `s` and hands each (type, payload) to `on_frame` until it returns
/// `Some`, which is returned; None if the connection ends first. Panics on a read timeout.
fn read_frames<T>(
    s: &mut std::net::TcpStream,
    mut on_frame: impl FnMut(u8, &[u8]) -> Option<T>,
) -> Option<T> {
    let mut r = std::io::BufReader::with_capacity(65536, s);
    loop {
        match wire::read_frame(&mut r) {
            Ok(Some(f)) => {
                if let Some(t) = on_frame(f.kind, &f.payload) {
                    return Some(t);
                }
            }
            Ok(None) => return None,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("reading frames: {e}"),
        }
    }
}

/// Writes `round(i)` for i = 0.. until the server's GOAWAY arrives (read on another thread);
/// returns the rounds written and the GOAWAY's error code.
fn attack(addr: SocketAddr, round: impl Fn(u32) -> Vec<u8>) -> (u32, u32) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(&hello()).unwrap();
    let mut reader = s.try_clone().unwrap();
    let goaway = std::thread::spawn(move || {
        read_frames(&mut reader, |kind, p| {
            (kind == 0x7).then(|| u32::from_be_bytes(p[4..8].try_into().unwrap()))
        })
    });
    let mut sent = 0;
    for i in 0..1_000_000u32 {
        if goaway.is_finished() || s.write_all(&round(i)).is_err() {
            break;
        }
        sent = i + 1;
    }
    let code = goaway.join().unwrap().expect("a GOAWAY");
    (sent, code)
}

/// A legitimate client's 2,000 requests, all expected to succeed.
async fn legitimate(addr: SocketAddr) {
    legitimate_with(&Client::builder().build(), addr).await
}

async fn legitimate_with(c: &Client, addr: SocketAddr) {
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..100 {
                let req = get(format!("http://{addr}/"));
                let res = c.send(req).await.unwrap();
                let body = res.into_body().collect().await.unwrap().to_bytes();
                assert!(body == "ok", "unexpected body of {} bytes", body.len());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Resident memory of this process (the server runs in it), bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

async fn under_attack(round: fn(u32) -> Vec<u8>, kind: usize, bound: u32) {
    let _alone = MEMORY.write().await;
    let (addr, stats) = server().await;
    // Warm up: the legitimate client's connection and buffers exist before the baseline (it
    // comes from the attacker's address, 127.0.0.1: a new connection during the attacker's
    // penalty would be refused).
    let client = Client::builder().build();
    legitimate_with(&client, addr).await;
    let before = rss();
    let attacker = tokio::task::spawn_blocking(move || attack(addr, round));
    legitimate_with(&client, addr).await;
    let (sent, code) = attacker.await.unwrap();
    // The attacker's next connection is refused at once: it is serving its penalty.
    let mut again = std::net::TcpStream::connect(addr).unwrap();
    again
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let _ = again.write_all(wire::PREFACE);
    let mut byte = [0u8; 1];
    // Closed (EOF or reset), not answered and not left waiting.
    let refused = match again.read(&mut byte) {
        Ok(n) => n == 0,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    assert!(refused, "a connection during the penalty was served");
    let grown = rss().saturating_sub(before);
    eprintln!(
        "attack {kind}: {sent} rounds written, RSS +{} KiB",
        grown >> 10
    );
    // The attack costs the server at most a few megabytes, whatever it sends.
    assert!(grown < 16 << 20, "RSS grew by {grown} bytes");
    assert_eq!(code, 0xb, "GOAWAY(ENHANCE_YOUR_CALM)");
    // The attack was cut off: the writer stopped at the GOAWAY, long before its last round.
    // (It runs ahead of the server by at most a socket buffer; the server's own count, below,
    // is the bound that matters.)
    assert!((1..1_000_000).contains(&sent), "{sent} rounds written");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = stats.snapshot();
    assert_eq!(s.floods[kind], 1, "{s:?}");
    assert!(
        s.resets_received.total() + s.resets_sent.total() <= u64::from(bound),
        "{s:?}"
    );
}

/// HEADERS (with `flags`) opening stream 2i+1, then one frame of `kind` on it.
fn open_then(i: u32, flags: u8, kind: u8, payload: &[u8]) -> Vec<u8> {
    let id = 2 * i + 1;
    let mut f = wire::frame(0x1, flags, id, &GET);
    f.extend(wire::frame(kind, 0, id, payload));
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_reset_beside_a_legitimate_client() {
    // HEADERS with END_STREAM, then RST_STREAM(CANCEL).
    under_attack(|i| open_then(i, 0x5, 0x3, &8u32.to_be_bytes()), 0, 3_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_you_reset_beside_a_legitimate_client() {
    // WINDOW_UPDATE 0 on each new stream makes the server reset it (stream PROTOCOL_ERROR).
    under_attack(|i| open_then(i, 0x4, 0x8, &0u32.to_be_bytes()), 0, 3_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_data_flood_beside_a_legitimate_client() {
    under_attack(
        |i| {
            if i == 0 {
                wire::frame(0x1, 0x4, 1, &GET)
            } else {
                wire::frame(0x0, 0, 1, &[])
            }
        },
        1,
        10,
    )
    .await;
}

/// 100 tasks × 100 requests, each cancelled at a random moment (some before their response,
/// some after): a legitimate pattern, never penalised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cancellations_are_not_penalised() {
    let _shared = MEMORY.read().await;
    let (addr, stats) = server().await;
    let c = Client::builder().build();
    let mut tasks = Vec::new();
    for t in 0..100u64 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut cancelled = 0;
            for i in 0..100u64 {
                // A pseudo-random cut between 0 and 3 ms; the handler takes 1 ms.
                let cut = Duration::from_micros((t * 7_919 + i * 104_729) % 3_000);
                let req = get(format!("http://{addr}/"));
                let work = async {
                    let res = c.send(req).await.unwrap();
                    res.into_body().collect().await.unwrap();
                };
                if tokio::time::timeout(cut, work).await.is_err() {
                    cancelled += 1;
                }
            }
            cancelled
        }));
    }
    let mut cancelled = 0;
    for t in tasks {
        cancelled += t.await.unwrap();
    }
    assert!(cancelled >= 1_000, "{cancelled}");
    eprintln!("{cancelled} of 10,000 cancelled");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = stats.snapshot();
    assert_eq!(s.floods, [0; 4], "{cancelled} of 10,000 cancelled: {s:?}");
    assert_eq!(
        s.goaways_sent
            .get(h2kit::proto::ErrorCode::ENHANCE_YOUR_CALM),
        0
    );
    assert!(s.resets_received.total() >= 1_000, "{s:?}");
}

/// PINGs and SETTINGS from a peer that never reads the ACKs (CVE-2019-9512, -9515): once a
/// megabyte of output is waiting, the server stops reading that peer, so its writes stall —
/// the ACK queue is bounded — while the legitimate client is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_read_its_acks_stops_being_read() {
    let _shared = MEMORY.read().await;
    let (addr, _stats) = server().await;
    let attacker = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        s.write_all(wire::PREFACE).unwrap();
        let mut batch = Vec::new();
        for i in 0..1_000u64 {
            batch.extend(wire::frame(0x6, 0, 0, &i.to_be_bytes())); // PING
            batch.extend(wire::frame(0x4, 0, 0, &[])); // SETTINGS
        }
        let mut written = 0u64;
        loop {
            match s.write_all(&batch) {
                Ok(()) => written += batch.len() as u64,
                Err(_) => return written,
            }
            assert!(written < 512 << 20, "the server kept reading");
        }
    });
    legitimate(addr).await;
    let written = attacker.await.unwrap();
    eprintln!("the ACK-ignoring peer got {written} bytes in before it stalled");
    // 1 MiB of unsent ACKs, the socket buffers both ways, and the frames in flight.
    assert!(written < 64 << 20, "{written} bytes accepted");
}

/// PRIORITY frames are parsed and ignored (RFC 9113 §5.3.2 deprecates the scheme), so they
/// build no state (CVE-2019-9513 was about keeping a priority tree); an endless stream of them
/// still costs a parse each and is cut off after about 1,000 (`FloodLimits::ignored_frames`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_flood_beside_a_legitimate_client() {
    under_attack(
        |i| {
            // Stream 2i+1 depends on stream 2i+3, weight 16: a tree nobody keeps.
            let mut p = (2 * i + 3).to_be_bytes().to_vec();
            p.push(15);
            wire::frame(0x2, 0, 2 * i + 1, &p)
        },
        3,
        0,
    )
    .await;
}

/// A client that keeps its window at zero (a slow read, CVE-2019-9517): the response it does
/// not read is reset once it could not move for `send_stall_timeout`, and its handler freed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_keeps_its_window_at_zero_is_timed_out() {
    let _shared = MEMORY.read().await;
    // The slow reader (authority "a") gets 1 MiB; the legitimate client gets "ok".
    let svc = tower::service_fn(|req: http::Request<RecvBody>| async move {
        let big = req.uri().authority().is_some_and(|a| a.as_str() == "a");
        let body = if big {
            Bytes::from(vec![b'x'; 1 << 20])
        } else {
            Bytes::from_static(b"ok")
        };
        Ok::<_, Infallible>(http::Response::new(Full::new(body)))
    });
    let mut config = ServerConfig::default();
    config.send_stall_timeout = Some(Duration::from_millis(300));
    let server::Spawned { addr, stats, .. } = server::spawn(config, svc).await;
    let slow = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&hello()).unwrap();
        s.write_all(&wire::frame(0x1, 0x5, 1, &GET)).unwrap();
        let started = std::time::Instant::now();
        // Read everything, acknowledge nothing: no WINDOW_UPDATE ever.
        let mut data = 0usize;
        let code = read_frames(&mut s, |kind, p| match kind {
            0x0 => {
                data += p.len();
                None
            }
            0x3 => Some(u32::from_be_bytes(p[..4].try_into().unwrap())),
            _ => None,
        })
        .expect("reset, not closed");
        (code, data, started.elapsed())
    });
    legitimate(addr).await;
    let (code, data, after) = slow.await.unwrap();
    assert_eq!(code, 0x8, "RST_STREAM(CANCEL)");
    assert_eq!(data, 65_535, "exactly the initial window was sent");
    assert!(after >= Duration::from_millis(300), "{after:?}");
    // The legitimate client's connection is untouched.
    assert_eq!(stats.snapshot().goaways_sent.total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_flood_beside_a_legitimate_client() {
    // A header block that never ends: one byte per CONTINUATION (CVE-2024-27316 class).
    under_attack(
        |i| {
            if i == 0 {
                wire::frame(0x1, 0x1, 1, &GET[..3])
            } else {
                wire::frame(0x9, 0, 1, &[0x84])
            }
        },
        2,
        10,
    )
    .await;
}

/// An HPACK bomb: one 4 KiB entry in the dynamic table, then requests that reference it a
/// thousand times each (4 MB of header list from 1 KB on the wire). Each gets a 431 after at
/// most the 64 KiB list limit's worth of decoding; the connection and the HPACK state live on,
/// memory stays flat, and the legitimate client is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpack_bomb_beside_a_legitimate_client() {
    let _alone = MEMORY.write().await;
    let (addr, stats) = server().await;
    legitimate(addr).await;
    let before = rss();
    let bomber = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&hello()).unwrap();
        // Stream 1: GET with a literal "x: <4000 bytes>" added to the table (index 62).
        let mut block = GET.to_vec();
        block.extend([0x40, 0x01, b'x', 0x7f]);
        block.extend(encode_int(4000 - 127));
        block.extend(std::iter::repeat_n(b'v', 4000));
        s.write_all(&wire::frame(0x1, 0x5, 1, &block)).unwrap();
        // Streams 3, 5, ...: the entry referenced a thousand times.
        let mut bomb = GET.to_vec();
        bomb.extend(std::iter::repeat_n(0xbe, 1000)); // indexed field 62
        for i in 1..=200u32 {
            s.write_all(&wire::frame(0x1, 0x5, 2 * i + 1, &bomb))
                .unwrap();
        }
        // Read the 201 responses' HEADERS: the first 200, the bombs 431.
        let mut dec = h2kit::proto::hpack::Decoder::new(4096);
        let mut statuses = std::collections::BTreeMap::<Vec<u8>, u32>::new();
        let mut heads = 0;
        read_frames(&mut s, |kind, p| {
            assert_ne!(kind, 0x7, "GOAWAY: the bomb should cost only its streams");
            if kind == 0x1 {
                heads += 1;
                for f in dec.decode_vec(&Bytes::copy_from_slice(p)).unwrap() {
                    if let h2kit::proto::hpack::Field::Pseudo(_, v) = f {
                        *statuses.entry(v.to_vec()).or_default() += 1;
                    }
                }
            }
            (heads == 201).then_some(())
        })
        .expect("201 responses");
        statuses
    });
    legitimate(addr).await;
    let statuses = bomber.await.unwrap();
    assert_eq!(statuses.get(&b"200"[..]), Some(&1), "{statuses:?}");
    assert_eq!(statuses.get(&b"431"[..]), Some(&200), "{statuses:?}");
    let grown = rss().saturating_sub(before);
    assert!(grown < 16 << 20, "RSS grew by {grown} bytes");
    assert_eq!(stats.snapshot().goaways_sent.total(), 0);
}

/// HPACK integer continuation bytes (RFC 7541 §5.1) for a value already reduced by the prefix.
fn encode_int(mut v: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
    out
}

/// Too many connections: beyond `max_connections` new ones are closed at once, while the
/// legitimate client's established connection is served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused() {
    let _shared = MEMORY.read().await;
    let svc = tower::service_fn(|_: http::Request<RecvBody>| async {
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let mut config = ServerConfig::default();
    config.max_connections = 50;
    let server::Spawned { addr, stats, .. } = server::spawn(config, svc).await;
    let client = Client::builder().build();
    legitimate_with(&client, addr).await;
    // 49 idle connections fill the server up (the client holds the 50th)...
    let mut idle = Vec::new();
    for _ in 0..49 {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(&hello()).unwrap();
        idle.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...so 20 more are closed at once, without a byte.
    for _ in 0..20 {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = s.write_all(wire::PREFACE);
        let mut byte = [0u8; 1];
        let refused = match s.read(&mut byte) {
            Ok(n) => n == 0,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(refused, "a connection beyond the limit was served");
    }
    legitimate_with(&client, addr).await;
    let s = stats.snapshot();
    assert_eq!(s.connections_rejected, 20, "{s:?}");
    assert_eq!(s.connections_open, 50, "{s:?}");
}
