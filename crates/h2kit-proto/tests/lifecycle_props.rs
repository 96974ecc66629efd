//! Seed scenario 3: random commands on both sides and random delivery splits. Both sides agree
//! on every stream's state once the wire is quiet, and neither ever sends a frame that §5.1
//! forbids in the stream's state as the sender knew it.

mod common;
use common::commands::{apply, cmd, Cmd};
use common::pair::*;

use std::collections::HashMap;

use bytes::Bytes;
use h2kit_proto::frame::Frame;
use h2kit_proto::{ErrorCode, StreamId, StreamState};
use proptest::prelude::*;

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
    for c in cmds {
        apply(&mut p, &mut ids, c);
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
        cmds in prop::collection::vec(cmd(true), 1..200),
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
