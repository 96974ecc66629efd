//! Random application commands on both sides of an engine pair, for property tests: open
//! streams, send bodies and trailers, respond, cancel and reset, and deliver bytes in random
//! splits. The applications consume what they receive.

use bytes::Bytes;
use h2kit_proto::{ErrorCode, Event, StreamId};
use proptest::prelude::*;

use super::pair::*;

#[derive(Clone, Debug)]
pub enum Cmd {
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
    ClientPing,
    ToServer,
    ToClient,
    Run,
}

/// Commands, with or without cancels and resets.
pub fn cmd(resets: bool) -> BoxedStrategy<Cmd> {
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
        1 => Just(Cmd::ClientPing),
        4 => Just(Cmd::ToServer),
        4 => Just(Cmd::ToClient),
        2 => Just(Cmd::Run),
    ]
    .prop_map(move |c| match c {
        // Without resets, their turns deliver bytes instead.
        Cmd::ClientCancel { .. }
        | Cmd::ClientReset { .. }
        | Cmd::ServerReset { .. }
        | Cmd::ServerCancel { .. }
            if !resets =>
        {
            Cmd::Run
        }
        c => c,
    })
    .boxed()
}

/// Applies one command; `ids` are the streams the client opened.
pub fn apply(p: &mut Pair, ids: &mut Vec<StreamId>, c: Cmd) {
    let pick = |ids: &[StreamId], i: usize| ids.get(i % ids.len().max(1)).copied();
    let body = |len: usize| Bytes::from(vec![b'x'; len]);
    match c {
        Cmd::Open { end } => {
            if let Ok(id) = p.client.send_request(&get("/"), end) {
                ids.push(id);
            }
        }
        Cmd::ClientData { i, len, end } => {
            if let Some(id) = pick(ids, i) {
                let _ = p.client.send_data(id, body(len), end);
            }
        }
        Cmd::ClientTrailers { i } => {
            if let Some(id) = pick(ids, i) {
                let _ = p.client.send_trailers(id, &http::HeaderMap::new());
            }
        }
        Cmd::ServerRespond { i, end } => {
            if let Some(id) = pick(ids, i) {
                let _ = p.server.send_response(id, &ok(), end);
            }
        }
        Cmd::ServerData { i, len, end } => {
            if let Some(id) = pick(ids, i) {
                let _ = p.server.send_data(id, body(len), end);
            }
        }
        Cmd::ServerTrailers { i } => {
            if let Some(id) = pick(ids, i) {
                let _ = p.server.send_trailers(id, &http::HeaderMap::new());
            }
        }
        Cmd::ClientCancel { i } => {
            if let Some(id) = pick(ids, i) {
                p.client.cancel(id);
            }
        }
        Cmd::ClientReset { i } => {
            if let Some(id) = pick(ids, i) {
                p.client.reset(id, ErrorCode::CANCEL);
            }
        }
        Cmd::ServerReset { i } => {
            if let Some(id) = pick(ids, i) {
                p.server.reset(id, ErrorCode::INTERNAL_ERROR);
            }
        }
        Cmd::ServerCancel { i } => {
            if let Some(id) = pick(ids, i) {
                p.server.cancel(id);
            }
        }
        Cmd::ClientPing => {
            let now = p.now;
            let _ = p.client.ping(now);
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
