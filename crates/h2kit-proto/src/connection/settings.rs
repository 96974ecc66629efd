//! SETTINGS received (RFC 9113 §6.5): the peer's values applied at once, ours once the peer
//! acknowledges them (§6.5.3).

use super::recv::{conn_err, PROTOCOL};
use super::{Connection, Role};
use crate::event::Event;
use crate::frame::{Frame, Setting, Settings};
use crate::{Error, ErrorCode};

impl Connection {
    pub(super) fn recv_settings(&mut self, s: Settings) -> Result<(), Error> {
        if s.ack {
            let Some((acked, _)) = self.pending_settings.pop_front() else {
                return Err(conn_err(
                    PROTOCOL,
                    "SETTINGS ACK without SETTINGS sent (RFC 9113 §6.5.3)",
                ));
            };
            self.apply_acked_settings(&acked);
            self.events.push(Event::LocalSettingsAcked);
            return Ok(());
        }
        let first = !self.peer_settings_received;
        if first && s.get(Setting::MaxConcurrentStreams).is_none() {
            // §6.5.2: no limit until the peer sets one; our assumption ends with its preface.
            self.peer_max_streams = u32::MAX;
        }
        self.peer_settings_received = true;
        for (k, v) in s.iter() {
            match k {
                Setting::HeaderTableSize => self.encoder.set_peer_max_table_size(v as usize),
                Setting::EnablePush => {
                    if self.role == Role::Client && v == 1 {
                        return Err(conn_err(
                            PROTOCOL,
                            "server sent SETTINGS_ENABLE_PUSH=1 (RFC 9113 §6.5.2)",
                        ));
                    }
                }
                Setting::MaxConcurrentStreams => {
                    let raised = v > self.peer_max_streams;
                    self.peer_max_streams = v;
                    if raised && self.want_streams_available && self.can_open_stream() {
                        self.want_streams_available = false;
                        self.events.push(Event::StreamsAvailable);
                    }
                }
                Setting::InitialWindowSize => {
                    // §6.9.2: every stream's send window moves by the difference.
                    let delta = v as i64 - self.peer_initial_window as i64;
                    self.peer_initial_window = v;
                    let mut opened = Vec::new();
                    for (id, st) in self.streams.iter_mut() {
                        if st.send.adjust(delta).is_err() {
                            return Err(conn_err(ErrorCode::FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window (RFC 9113 §6.9.2)"));
                        }
                        if delta > 0 && st.send_blocked && st.send.available() > 0 {
                            opened.push(*id);
                        }
                    }
                    if self.conn_send.available() > 0 {
                        for id in opened {
                            self.unblock(id);
                        }
                    }
                }
                Setting::MaxFrameSize => self.peer_max_frame_size = v,
                Setting::MaxHeaderListSize => self.peer_max_header_list_size = v,
                // Once sent as 1 it cannot be withdrawn (RFC 8441 §3).
                Setting::EnableConnectProtocol if v == 1 => self.peer_connect_protocol = true,
                Setting::EnableConnectProtocol if self.peer_connect_protocol => {
                    return Err(conn_err(
                        PROTOCOL,
                        "SETTINGS_ENABLE_CONNECT_PROTOCOL withdrawn (RFC 8441 §3)",
                    ));
                }
                Setting::EnableConnectProtocol | Setting::NoRfc7540Priorities => {}
            }
        }
        // The first SETTINGS may lift the assumed stream limit, and it settles whether an
        // extended CONNECT may go (both wait for this event).
        if first && self.want_streams_available && self.can_open_stream() {
            self.want_streams_available = false;
            self.events.push(Event::StreamsAvailable);
        }
        self.write_frame(&Frame::Settings(Settings::ack()));
        self.events.push(Event::RemoteSettings(s));
        Ok(())
    }

    /// Our SETTINGS were acknowledged: now they bind (§6.5.3).
    pub(super) fn apply_acked_settings(&mut self, s: &Settings) {
        if let Some(v) = s.get(Setting::HeaderTableSize) {
            self.decoder.set_max_table_size(v as usize);
        }
        if let Some(v) = s.get(Setting::MaxHeaderListSize) {
            self.decoder.set_max_header_list_size(v as usize);
        }
        if let Some(v) = s.get(Setting::MaxFrameSize) {
            self.frames.set_max_frame_size(v);
        }
        if let Some(v) = s.get(Setting::MaxConcurrentStreams) {
            self.local_max_streams = v;
        }
        if let Some(v) = s.get(Setting::InitialWindowSize) {
            if v < self.local_initial_window {
                self.apply_local_initial_window(v);
            }
        }
    }
}
