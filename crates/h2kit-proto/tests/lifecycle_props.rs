//! Seed scenario 3: random commands on both sides and random delivery splits. Both sides agree
//! on every stream's state once the wire is quiet, and neither ever sends a frame that §5.1
//! forbids in the stream's state as the sender knew it.

mod common;
use common::pair::*;

use std::collections::HashMap;

use bytes::Bytes;
use h2kit_proto::frame::Frame;
use h2kit_proto::{ErrorCode, Event, StreamId, StreamState};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Cmd {
    Open { end: bool },
    ClientData { i: usize, len: usize, end: bool },
    ClientTrailers { i: usize },
    ServerRespond { i: usize, end: bool },
    ServerData { i: usize, len: usize, end: bool },
    ServerTrailers { i: usize },
    ClientCancel { i: usize },
    ClientReset { i: usize },
    ServerReset { i: usize },
    ServerCancel { i: usize },
    ToServer,
    ToClient,
    Run,
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let i = 0usize..64;
    prop_oneof![
        4 => any::<bool>().prop_map(|end| Cmd::Open { end }),
        4 => (i.clone(), 0usize..40_000, any::<bool>()).prop_map(|(i, len, end)| Cmd::ClientData { i, len, end }),
        1 => i.clone().prop_map(|i| Cmd::ClientTrailers { i }),
        5 => (i.clone(), any::<bool>()).prop_map(|(i, end)| Cmd::ServerRespond { i, end }),
        5 => (i.clone(), 0usize..40_000, any::<bool>()).prop_map(|(i, len, end)| Cmd::ServerData { i, len, end }),
        1 => i.clone().prop_map(|i| Cmd::ServerTrailers { i }),
        1 => i.clone().prop_map(|i| Cmd::ClientCancel { i }),
        1 => i.clone().prop_map(|i| Cmd::ClientReset { i }),
        1 => i.clone().prop_map(|i| Cmd::ServerReset { i }),
        1 => i.clone().prop_map(|i| Cmd::ServerCancel { i }),
        4 => Just(Cmd::ToServer),
        4 => Just(Cmd::ToClient),
        2 => Just(Cmd::Run),
    ]
}

#[derive(Default, Clone, Copy, Debug)]
struct View {
    opened: bool,
    sent_end: bool,
    recv_end: bool,
    sent_rst: bool,
    recv_rst: bool,
}

/// Checks every frame against its sender's view of the stream when it produced it (§5.1):
/// its own frames so far, and the peer's frames it had received by then.
fn check_wire(log: &[Wire]) -> Result<(), String> {
    let mut views: HashMap<(Side, StreamId), View> = HashMap::new();
    for (n, entry) in log.iter().enumerate() {
        let (side, f, sent) = match entry {
            Wire::Sent(s, f) => (*s, f, true),
            Wire::Received(s, f) => (*s, f, false),
        };
        let id = f.stream_id();
        if id.is_zero() {
            continue;
        }
        let v = views.entry((side, id)).or_default();
        let end = matches!(f, Frame::Headers(h) if h.end_stream)
            || matches!(f, Frame::Data(d) if d.end_stream);
        let rst = matches!(f, Frame::RstStream(_));
        v.opened |= matches!(f, Frame::Headers(_));
        if !sent {
            v.recv_end |= end;
            v.recv_rst |= rst;
            continue;
        }
        let closed = (v.sent_end && v.recv_end) || v.sent_rst || v.recv_rst;
        let what = format!("entry #{n} {f:?} from {side:?} with view {v:?}");
        match f {
            Frame::Priority(_) => {}
            _ if closed => return Err(format!("sent on a closed stream: {what}")),
            Frame::Headers(_) | Frame::Data(_) if v.sent_end => {
                return Err(format!("HEADERS/DATA after END_STREAM: {what}"))
            }
            _ if !v.opened => return Err(format!("frame on an idle stream: {what}")),
            _ => {}
        }
        v.sent_end |= end;
        v.sent_rst |= rst;
    }
    Ok(())
}

fn mirror(s: StreamState) -> StreamState {
    match s {
        StreamState::HalfClosedLocal => StreamState::HalfClosedRemote,
        StreamState::HalfClosedRemote => StreamState::HalfClosedLocal,
        s => s,
    }
}

fn run_commands(cmds: Vec<Cmd>, seed: u64) -> Result<(), TestCaseError> {
    let mut p = Pair::connected();
    p.rng = Some(Rng(seed | 1));
    let mut ids: Vec<StreamId> = Vec::new();
    let pick = |ids: &[StreamId], i: usize| ids.get(i % ids.len().max(1)).copied();
    let body = |len: usize| Bytes::from(vec![b'x'; len]);
    for c in cmds {
        match c {
            Cmd::Open { end } => {
                if let Ok(id) = p.client.send_request(&get("/"), end) {
                    ids.push(id);
                }
            }
            Cmd::ClientData { i, len, end } => {
                if let Some(id) = pick(&ids, i) {
                    let _ = p.client.send_data(id, body(len), end);
                }
            }
            Cmd::ClientTrailers { i } => {
                if let Some(id) = pick(&ids, i) {
                    let _ = p.client.send_trailers(id, &http::HeaderMap::new());
                }
            }
            Cmd::ServerRespond { i, end } => {
                if let Some(id) = pick(&ids, i) {
                    let _ = p.server.send_response(id, &ok(), end);
                }
            }
            Cmd::ServerData { i, len, end } => {
                if let Some(id) = pick(&ids, i) {
                    let _ = p.server.send_data(id, body(len), end);
                }
            }
            Cmd::ServerTrailers { i } => {
                if let Some(id) = pick(&ids, i) {
                    let _ = p.server.send_trailers(id, &http::HeaderMap::new());
                }
            }
            Cmd::ClientCancel { i } => {
                if let Some(id) = pick(&ids, i) {
                    p.client.cancel(id);
                }
            }
            Cmd::ClientReset { i } => {
                if let Some(id) = pick(&ids, i) {
                    p.client.reset(id, ErrorCode::CANCEL);
                }
            }
            Cmd::ServerReset { i } => {
                if let Some(id) = pick(&ids, i) {
                    p.server.reset(id, ErrorCode::INTERNAL_ERROR);
                }
            }
            Cmd::ServerCancel { i } => {
                if let Some(id) = pick(&ids, i) {
                    p.server.cancel(id);
                }
            }
            Cmd::ToServer => p.client_to_server(),
            Cmd::ToClient => p.server_to_client(),
            Cmd::Run => p.run(),
        }
        // Applications consume what they receive.
        for e in p.client_events.drain(..).collect::<Vec<_>>() {
            if let Event::Data { stream, data, .. } = e {
                p.client.release_capacity(stream, data.len());
            }
        }
        for e in p.server_events.drain(..).collect::<Vec<_>>() {
            if let Event::Data { stream, data, .. } = e {
                p.server.release_capacity(stream, data.len());
            }
        }
    }
    p.run();
    prop_assert!(
        p.client.error().is_none(),
        "client failed: {:?}",
        p.client.error()
    );
    prop_assert!(
        p.server.error().is_none(),
        "server failed: {:?}",
        p.server.error()
    );
    if let Err(e) = check_wire(&p.log) {
        return Err(TestCaseError::fail(e));
    }
    for id in &ids {
        let (c, s) = (p.client.stream_state(*id), p.server.stream_state(*id));
        prop_assert_eq!(mirror(c), s, "stream {} disagrees", id.0);
    }
    let (client_local, _) = p.client.active_streams();
    let (_, server_remote) = p.server.active_streams();
    prop_assert_eq!(client_local, server_remote);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn seed_3_both_sides_agree_and_never_send_forbidden_frames(
        cmds in prop::collection::vec(cmd(), 1..200),
        seed in any::<u64>(),
    ) {
        run_commands(cmds, seed)?;
    }
}

#[test]
fn wire_checker_catches_a_reset_after_end_stream() {
    // The checker must be able to fail: a RST_STREAM on a stream closed by END_STREAM both ways.
    let id = StreamId(1);
    let h = |end| {
        Frame::Headers(h2kit_proto::frame::Headers {
            stream_id: id,
            block: Bytes::new(),
            end_stream: end,
            end_headers: true,
            priority: None,
            pad: None,
        })
    };
    let rst = Frame::RstStream(h2kit_proto::frame::RstStream {
        stream_id: id,
        code: ErrorCode::CANCEL,
    });
    let log = vec![
        Wire::Sent(Side::Client, h(true)),
        Wire::Received(Side::Server, h(true)),
        Wire::Sent(Side::Server, h(true)),
        Wire::Received(Side::Client, h(true)),
        Wire::Sent(Side::Client, rst.clone()),
    ];
    assert!(check_wire(&log).is_err());
    assert!(check_wire(&log[..4]).is_ok());
    // The same RST_STREAM sent before the END_STREAM arrived is legal.
    let racing = vec![
        Wire::Sent(Side::Client, h(true)),
        Wire::Received(Side::Server, h(true)),
        Wire::Sent(Side::Server, h(true)),
        Wire::Sent(Side::Client, rst),
    ];
    assert!(check_wire(&racing).is_ok());
}
