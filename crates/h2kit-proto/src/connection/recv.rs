//! Received frames: RFC 9113 §5.1 stream states, §5.2 flow control, §6 frame semantics and the
//! §8 message rules, each decision made as the frame is processed.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::memo::Seen;
use super::{Connection, Ended, PendingBlock, Role, Shutdown, PREFACE};
use crate::event::Event;
use crate::frame::{self, Frame, StreamId};
use crate::message::{Head, HeadBuilder, Kind, Meta};
use crate::stream::{RecvPhase, Stream};
use crate::trace::Direction;
use crate::{Error, ErrorCode};

use crate::stats::Flood as guard_kind;

pub(super) fn conn_err(code: ErrorCode, reason: &'static str) -> Error {
    Error::connection(code, reason)
}

pub(super) const PROTOCOL: ErrorCode = ErrorCode::PROTOCOL_ERROR;

impl Connection {
    /// Processes everything complete in `buf` (consuming it; a partial frame stays). Events
    /// and output are queued. On a connection error the GOAWAY is queued, the error returned,
    /// and everything received afterwards is discarded.
    pub fn recv(&mut self, buf: &mut BytesMut, now: Instant) -> Result<(), Error> {
        self.last_instant = self.last_instant.max(now);
        if self.error.is_some() {
            buf.clear();
            return Ok(());
        }
        if self.role == Role::Server && self.preface_matched < PREFACE.len() {
            let want = &PREFACE[self.preface_matched..];
            let n = want.len().min(buf.len());
            if buf[..n] != want[..n] {
                buf.clear();
                return self.connection_error(conn_err(
                    PROTOCOL,
                    "invalid connection preface (RFC 9113 §3.4)",
                ));
            }
            let _ = buf.split_to(n);
            self.preface_matched += n;
            if self.preface_matched < PREFACE.len() {
                return Ok(());
            }
        }
        if !self.server_start_checked {
            match super::peer_start::judge(buf) {
                super::peer_start::ServerStart::Wait => return Ok(()),
                super::peer_start::ServerStart::Frames => self.server_start_checked = true,
                super::peer_start::ServerStart::NotHttp2(why) => {
                    buf.clear();
                    self.not_http2 = Some(why.into());
                    return self.connection_error(conn_err(
                        PROTOCOL,
                        "the server does not speak HTTP/2 (RFC 9113 §3.4)",
                    ));
                }
            }
        }
        loop {
            let frame = match self.frames.decode(buf) {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.handle_error(e)?;
                    continue;
                }
            };
            self.trace_frame(Direction::Recv, &frame);
            let kind = match &frame {
                Frame::Unknown(u) => u.kind,
                f => f.frame_type().map_or(10, |t| t as u8),
            };
            self.stats.frames_received.add(kind);
            if let Err(e) = self.handle_frame(frame, now) {
                self.handle_error(e)?;
            }
            if self.error.is_some() {
                buf.clear();
                return Ok(());
            }
        }
    }

    /// Stream errors become RST_STREAM (§5.4.2); connection errors GOAWAY (§5.4.1).
    fn handle_error(&mut self, e: Error) -> Result<(), Error> {
        match e.scope {
            crate::error::Scope::Connection => self.connection_error(e),
            crate::error::Scope::Stream(id) => {
                // MadeYouReset: resets the peer's frames make us send draw from the same
                // budget as the peer's own.
                let now = self.last_instant;
                if !self.guard.resets.take(now) {
                    let e = self.flood(guard_kind::StreamResets);
                    return self.connection_error(e);
                }
                if self.streams.contains_key(&id) {
                    self.send_reset(id, e.code);
                    self.events.push(Event::Reset {
                        stream: id,
                        code: e.code,
                        remote: false,
                    });
                } else if self.stream_state(id) == crate::StreamState::Idle {
                    // RST_STREAM must not be sent on an idle stream (§5.1): the error
                    // becomes a connection error, which §5.4.1 always allows.
                    return self.connection_error(Error::connection(e.code, e.reason));
                } else if self.ended(id) != Some(Ended::ResetByUs) {
                    // A closed stream we have not reset: answer once with RST_STREAM (§5.4.2)
                    // and remember that we did, so later frames are only dropped.
                    self.write_frame(&Frame::RstStream(frame::RstStream {
                        stream_id: id,
                        code: e.code,
                    }));
                    self.stats.resets_sent.add(e.code);
                    self.remember(id, Ended::ResetByUs);
                }
                Ok(())
            }
        }
    }

    fn handle_frame(&mut self, frame: Frame, now: Instant) -> Result<(), Error> {
        // §6.10: a header block is a contiguous sequence of frames.
        if let Some(p) = &self.continuation {
            match &frame {
                Frame::Continuation(c) if c.stream_id == p.stream => {}
                _ => {
                    return Err(conn_err(
                        PROTOCOL,
                        "frame interleaved in a header block (RFC 9113 §6.10)",
                    ))
                }
            }
        }
        // Frames that carry nothing and end nothing (CVE-2019-9518).
        let empty = match &frame {
            Frame::Data(d) => d.flow_len() == 0 && !d.end_stream,
            Frame::Headers(h) => h.block.is_empty() && !h.end_headers,
            Frame::Continuation(c) => c.block.is_empty() && !c.end_headers,
            _ => false,
        };
        if empty && !self.guard.empty.take(now) {
            return Err(self.flood(guard_kind::EmptyFrames));
        }
        let ignored = matches!(frame, Frame::Priority(_) | Frame::Unknown(_));
        if ignored && !self.guard.ignored.take(now) {
            return Err(self.flood(guard_kind::IgnoredFrames));
        }
        // §3.4: the peer's preface starts with SETTINGS.
        if !self.peer_settings_received && !matches!(&frame, Frame::Settings(s) if !s.ack) {
            return Err(conn_err(
                PROTOCOL,
                "first frame is not SETTINGS (RFC 9113 §3.4)",
            ));
        }
        match frame {
            Frame::Data(d) => self.recv_data(d),
            Frame::Headers(h) => {
                let self_dependent = h.depends_on_itself();
                if h.end_headers {
                    self.recv_header_block(h.stream_id, h.block, h.end_stream, self_dependent)
                } else {
                    self.start_block(h.stream_id, &h.block, h.end_stream, self_dependent)
                }
            }
            Frame::Continuation(c) => self.recv_continuation(c),
            Frame::Priority(_) => Ok(()),
            Frame::RstStream(r) => self.recv_rst(r),
            Frame::Settings(s) => self.recv_settings(s),
            // §8.4: we always send SETTINGS_ENABLE_PUSH=0 as a client, and a client cannot push.
            Frame::PushPromise(_) => Err(conn_err(
                PROTOCOL,
                "PUSH_PROMISE received though push is disabled (RFC 9113 §6.6, §8.4)",
            )),
            Frame::Ping(p) => {
                self.recv_ping(p, now);
                Ok(())
            }
            Frame::GoAway(g) => {
                self.recv_goaway(g);
                Ok(())
            }
            Frame::WindowUpdate(w) => self.recv_window_update(w),
            Frame::Unknown(u) if u.kind == crate::priority::PRIORITY_UPDATE => {
                self.recv_priority_update(u)
            }
            // §5.5: unknown frame types are ignored.
            Frame::Unknown(_) => Ok(()),
        }
    }

    fn start_block(
        &mut self,
        stream: StreamId,
        fragment: &Bytes,
        end_stream: bool,
        self_dependent: bool,
    ) -> Result<(), Error> {
        let mut block = BytesMut::with_capacity(fragment.len() * 2);
        block.extend_from_slice(fragment);
        self.check_block_size(block.len())?;
        self.continuation = Some(PendingBlock {
            frames: 1,
            stream,
            end_stream,
            self_dependent,
            block,
        });
        Ok(())
    }

    /// The compressed bytes of one header block are bounded before any decoding, so an
    /// endless CONTINUATION sequence is cut off (a CVE-2024-27316-class attack).
    fn check_block_size(&self, n: usize) -> Result<(), Error> {
        if n > self.config.max_header_block_bytes {
            return Err(conn_err(
                ErrorCode::ENHANCE_YOUR_CALM,
                "header block larger than the configured limit, across CONTINUATION frames",
            ));
        }
        Ok(())
    }

    fn recv_continuation(&mut self, c: frame::Continuation) -> Result<(), Error> {
        let Some(p) = self.continuation.as_mut() else {
            return Err(conn_err(
                PROTOCOL,
                "CONTINUATION without a header block in progress (RFC 9113 §6.10)",
            ));
        };
        p.block.extend_from_slice(&c.block);
        p.frames += 1;
        if p.frames > self.guard.limits.max_continuation_frames {
            return Err(self.flood(guard_kind::Continuation));
        }
        let len = self.continuation.as_ref().map_or(0, |p| p.block.len());
        self.check_block_size(len)?;
        if c.end_headers {
            if let Some(p) = self.continuation.take() {
                return self.recv_header_block(
                    p.stream,
                    p.block.freeze(),
                    p.end_stream,
                    p.self_dependent,
                );
            }
        }
        Ok(())
    }

    /// Decodes a block whose result is discarded (its stream was refused, reset or ignored):
    /// the HPACK state must still see it (§4.3).
    fn discard_block(&mut self, block: &Bytes) -> Result<(), Error> {
        match self.decoder.decode(block, |_| {}) {
            Err(e) if e.is_connection_error() => Err(e.to_error(StreamId(0))),
            _ => Ok(()),
        }
    }

    /// Decodes a block into a head of `kind` and its declared content-length. A connection
    /// error (HPACK) comes back as `HeadError::Connection`, a malformed message as
    /// `Malformed`. One flat result keeps the large `Head` from being copied through layers.
    fn decode_head(
        &mut self,
        stream: StreamId,
        block: &Bytes,
        kind: Kind,
    ) -> Result<(Head, Meta), HeadError> {
        let generation = self.decoder.generation();
        let fields = kind != Kind::Response || self.config.keep_response_headers;
        let seen = match self
            .head_memo
            .as_deref()
            .map(|m| m.lookup(kind, generation, block, fields))
        {
            Some(Ok(hit)) => return Ok(hit),
            Some(Err(seen)) => seen,
            None => Seen::New,
        };
        let mut builder = HeadBuilder::new(kind);
        match self.decoder.decode(block, |f| builder.push(f)) {
            Ok(()) => {}
            Err(e) if e.is_connection_error() => {
                return Err(HeadError::Connection(e.to_error(stream)))
            }
            Err(_) => return Err(HeadError::TooLarge),
        }
        let meta = builder.meta();
        let head = builder.finish().map_err(HeadError::Malformed)?;
        if self.decoder.last_was_pure() {
            let memo = self.head_memo.get_or_insert_with(Box::default);
            memo.store(seen, kind, generation, block, &head, meta);
        }
        if !fields {
            // Decoded and validated like any other (the memo keeps them whole); dropped here.
            return Ok((head.without_response_fields(), meta));
        }
        Ok((head, meta))
    }

    fn recv_header_block(
        &mut self,
        id: StreamId,
        block: Bytes,
        end_stream: bool,
        self_dependent: bool,
    ) -> Result<(), Error> {
        let local = self.is_local(id);
        if !local && id.0 > self.max_peer_id {
            return self.recv_new_peer_stream(id, block, end_stream, self_dependent);
        }
        if local && self.stream_state(id) == crate::StreamState::Idle {
            return Err(conn_err(
                PROTOCOL,
                "HEADERS on an idle stream we did not open (RFC 9113 §5.1)",
            ));
        }
        let Some(stream) = self.streams.get(&id) else {
            self.discard_block(&block)?;
            return self.frame_on_closed(id, "HEADERS");
        };
        if stream.recv_closed {
            self.discard_block(&block)?;
            return Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "HEADERS on a half-closed (remote) stream (RFC 9113 §5.1)",
            ));
        }
        let kind = match (stream.phase, self.role) {
            (RecvPhase::Head, Role::Client) => Kind::Response,
            (RecvPhase::Head, Role::Server) => Kind::Request,
            (RecvPhase::Body, _) => Kind::Trailers,
        };
        let (head, meta) = match self.decode_head(id, &block, kind) {
            Ok(h) => h,
            Err(HeadError::Connection(e)) => return Err(e),
            Err(e) => return Err(Error::stream(id, PROTOCOL, e.reason())),
        };
        let informational = matches!(&head, Head::Response(r) if r.status().is_informational());
        if kind == Kind::Trailers && !end_stream {
            return Err(Error::stream(
                id,
                PROTOCOL,
                "trailers without END_STREAM (RFC 9113 §8.1)",
            ));
        }
        if informational {
            if end_stream {
                return Err(Error::stream(
                    id,
                    PROTOCOL,
                    "informational response with END_STREAM (RFC 9113 §8.1)",
                ));
            }
            if matches!(&head, Head::Response(r) if r.status() == http::StatusCode::SWITCHING_PROTOCOLS)
            {
                return Err(Error::stream(
                    id,
                    PROTOCOL,
                    "101 response in HTTP/2 (RFC 9113 §8.6)",
                ));
            }
        }
        let starts_body = kind != Kind::Trailers && !informational;
        self.deliver_head(id, head, meta, starts_body, end_stream, self_dependent)
    }

    /// Records what a valid header section means for its stream and hands it to the
    /// application. `starts_body`: a request or final response, after which DATA may come.
    fn deliver_head(
        &mut self,
        id: StreamId,
        head: Head,
        meta: Meta,
        starts_body: bool,
        end_stream: bool,
        self_dependent: bool,
    ) -> Result<(), Error> {
        if self_dependent {
            return Err(Error::stream(
                id,
                PROTOCOL,
                "stream depends on itself (RFC 9113 §5.3.1)",
            ));
        }
        if let Head::Request(r) = &head {
            if r.extensions().get::<crate::message::Protocol>().is_some() {
                if !self.config.enable_connect_protocol {
                    return Err(Error::stream(
                        id,
                        PROTOCOL,
                        ":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL sent (RFC 8441 §3)",
                    ));
                }
                self.stats.extended_connects += 1;
            }
        }
        let response = matches!(head, Head::Response(_));
        if matches!(head, Head::Request(_)) {
            self.apply_request_priority(id, meta.priority);
        }
        let content_length = meta.content_length;
        if let Some(s) = self.streams.get_mut(&id) {
            if starts_body {
                s.phase = RecvPhase::Body;
                s.content_length = content_length;
            }
            if end_stream {
                check_final_length(s, id)?;
                s.recv_closed = true;
            }
            if s.discard {
                // Trailers of a message nobody reads: checked, then dropped.
                self.maybe_close(id);
                return Ok(());
            }
        }
        let at = self.events.push(Event::Headers {
            stream: id,
            head,
            end_stream,
        });
        if starts_body && response && !end_stream {
            if let Some(s) = self.streams.get_mut(&id) {
                s.head_event = Some(at);
            }
        }
        if end_stream {
            self.maybe_close(id);
        }
        Ok(())
    }

    /// HEADERS opening a stream the peer initiates (server side).
    fn recv_new_peer_stream(
        &mut self,
        id: StreamId,
        block: Bytes,
        end_stream: bool,
        self_dependent: bool,
    ) -> Result<(), Error> {
        if self.role == Role::Client {
            // Servers cannot open streams without push, which we disable (§8.4).
            self.discard_block(&block)?;
            return Err(conn_err(
                PROTOCOL,
                "server-initiated stream without push (RFC 9113 §5.1.1, §8.4)",
            ));
        }
        if !id.is_client_initiated() {
            return Err(conn_err(
                PROTOCOL,
                "client used an even stream identifier (RFC 9113 §5.1.1)",
            ));
        }
        self.max_peer_id = id.0;
        // §6.8: after GOAWAY, new streams are ignored (the final GOAWAY tells the client they
        // were not processed).
        if self.goaway_sent && (self.shutdown == Shutdown::Final || self.error.is_some()) {
            self.discard_block(&block)?;
            self.remember(id, Ended::ResetByUs);
            self.stats.frames_ignored += 1;
            return Ok(());
        }
        // §5.1.2: above our limit the stream is refused, never a PROTOCOL_ERROR; the client
        // may retry it. The block is still decoded to keep HPACK in sync.
        if self.active_remote >= self.local_max_streams as usize {
            self.discard_block(&block)?;
            self.write_frame(&Frame::RstStream(frame::RstStream {
                stream_id: id,
                code: ErrorCode::REFUSED_STREAM,
            }));
            self.stats.resets_sent.add(ErrorCode::REFUSED_STREAM);
            self.stats.refused_streams += 1;
            self.remember(id, Ended::ResetByUs);
            // A peer that keeps opening streams beyond the limit makes us refuse each one.
            let now = self.last_instant;
            if !self.guard.resets.take(now) {
                return Err(self.flood(guard_kind::StreamResets));
            }
            return Ok(());
        }
        let mut stream = Stream::new(self.peer_initial_window, self.local_initial_window);
        let decoded = self.decode_head(id, &block, Kind::Request);
        if let Err(HeadError::Connection(e)) = decoded {
            return Err(e);
        }
        if matches!(decoded, Err(HeadError::TooLarge)) {
            // §10.5.1: answer 431 rather than failing the whole connection.
            stream.recv_closed = end_stream;
            self.streams.insert(id, stream);
            self.active_remote += 1;
            self.stats.streams_opened_remote += 1;
            self.last_processed_peer_id = id.0;
            let mut res = http::Response::new(());
            *res.status_mut() = http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
            let (parts, ()) = res.into_parts();
            let _ = self.send_response(id, &parts, true);
            if !end_stream && self.streams.contains_key(&id) {
                self.send_reset(id, ErrorCode::NO_ERROR);
            }
            return Ok(());
        }
        self.streams.insert(id, stream);
        self.active_remote += 1;
        self.stats.streams_opened_remote += 1;
        self.last_processed_peer_id = id.0;
        // A stream opened may bring a PRIORITY frame for itself with it.
        self.guard.ignored.refill(1.0);
        let (head, meta) = match decoded {
            Ok(h) => h,
            Err(e) => return Err(Error::stream(id, PROTOCOL, e.reason())),
        };
        self.deliver_head(id, head, meta, true, end_stream, self_dependent)
    }

    fn recv_data(&mut self, d: frame::Data) -> Result<(), Error> {
        let id = d.stream_id;
        let flow = d.flow_len();
        // §6.9: DATA counts against the connection window whatever the stream's state.
        if self.conn_recv.recv(flow).is_err() {
            return Err(conn_err(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the connection window (RFC 9113 §6.9.1)",
            ));
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            // Not delivered to anyone: the connection window comes back at once.
            self.release_connection(flow);
            if self.stream_state(id) == crate::StreamState::Idle {
                return Err(conn_err(PROTOCOL, "DATA on an idle stream (RFC 9113 §5.1)"));
            }
            return self.frame_on_closed(id, "DATA");
        };
        if stream.recv_closed {
            self.release_connection(flow);
            return Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "DATA on a half-closed (remote) stream (RFC 9113 §5.1)",
            ));
        }
        if stream.phase == RecvPhase::Head {
            self.release_connection(flow);
            return Err(Error::stream(
                id,
                PROTOCOL,
                "DATA before the header section (RFC 9113 §8.1)",
            ));
        }
        if stream.recv.recv(flow).is_err() {
            self.release_connection(flow);
            return Err(Error::stream(
                id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the stream window (RFC 9113 §6.9.1)",
            ));
        }
        // Only the first DATA after the head can complete the response with it.
        let head_event = stream.head_event.take();
        stream.data_received += d.data.len() as u64;
        let too_long = match stream.content_length {
            _ if stream.head_request => !d.data.is_empty(),
            Some(len) => stream.data_received > len,
            None => false,
        };
        if too_long {
            self.release_connection(flow);
            return Err(Error::stream(
                id,
                PROTOCOL,
                "more DATA than content-length (RFC 9113 §8.1.1)",
            ));
        }
        if d.end_stream {
            check_final_length(stream, id)?;
        }
        if stream.discard {
            // Checked like any other DATA; nobody reads it (see `drain`).
            let ours_ended = stream.send_closed;
            if d.end_stream {
                // The whole discarded message is in: its connection credit goes back now, not
                // when later DATA completes a batch. Nothing else may follow on this stream,
                // and some clients (curl 7.88) only notice that their upload is over when a
                // frame arrives after it.
                if let Some(inc) = self.conn_recv.release_now(flow) {
                    self.write_window_update(StreamId(0), inc);
                }
            } else if ours_ended {
                self.release_connection(flow);
            } else {
                self.release_capacity(id, flow as usize);
            }
            if let Some(s) = self.streams.get_mut(&id) {
                s.recv_closed = d.end_stream;
            }
            self.maybe_close(id);
            return Ok(());
        }
        if d.end_stream {
            stream.recv_closed = true;
        }
        // Padding never reaches the application: it is returned at once (§6.1).
        let padding = flow - d.data.len() as u32;
        if padding > 0 {
            self.release_capacity(id, padding as usize);
        }
        let at = self.events.push(Event::Data {
            stream: id,
            data: d.data,
            end_stream: d.end_stream,
        });
        if d.end_stream {
            if let Some(head) = head_event {
                self.events.link(head, at);
            }
            self.maybe_close(id);
        }
        Ok(())
    }

    fn release_connection(&mut self, n: u32) {
        if let Some(inc) = self.conn_recv.release(n) {
            self.write_window_update(StreamId(0), inc);
        }
    }

    fn recv_rst(&mut self, r: frame::RstStream) -> Result<(), Error> {
        let id = r.stream_id;
        self.stats.resets_received.add(r.code);
        if self.streams.contains_key(&id) {
            self.close_stream(id, Ended::ResetByPeer);
            self.events.push(Event::Reset {
                stream: id,
                code: r.code,
                remote: true,
            });
            // Rapid reset: open, reset, repeat.
            let now = self.last_instant;
            if !self.guard.resets.take(now) {
                return Err(self.flood(guard_kind::StreamResets));
            }
            return Ok(());
        }
        if self.stream_state(id) == crate::StreamState::Idle {
            return Err(conn_err(
                PROTOCOL,
                "RST_STREAM on an idle stream (RFC 9113 §6.4)",
            ));
        }
        // On a closed stream: ignored, never answered.
        self.stats.frames_ignored += 1;
        Ok(())
    }

    fn recv_window_update(&mut self, w: frame::WindowUpdate) -> Result<(), Error> {
        if w.stream_id.is_zero() {
            if self.conn_send.increase(w.increment).is_err() {
                return Err(conn_err(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "connection window above 2^31-1 (RFC 9113 §6.9.1)",
                ));
            }
            self.unblock_in_priority_order();
            return Ok(());
        }
        let id = w.stream_id;
        let Some(s) = self.streams.get_mut(&id) else {
            if self.stream_state(id) == crate::StreamState::Idle {
                return Err(conn_err(
                    PROTOCOL,
                    "WINDOW_UPDATE on an idle stream (RFC 9113 §5.1)",
                ));
            }
            // On a closed stream: ignored, never answered.
            self.stats.frames_ignored += 1;
            return Ok(());
        };
        if s.send.increase(w.increment).is_err() {
            return Err(Error::stream(
                id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "stream window above 2^31-1 (RFC 9113 §6.9.1)",
            ));
        }
        if s.send_blocked && self.conn_send.available() > 0 {
            self.unblock(id);
        }
        Ok(())
    }

    pub(super) fn unblock(&mut self, id: StreamId) {
        if let Some(s) = self.streams.get_mut(&id) {
            s.send_blocked = false;
            self.events.push(Event::SendCapacity { stream: id });
        }
    }

    fn recv_ping(&mut self, p: frame::Ping, now: Instant) {
        if !p.ack {
            self.stats.pings_received += 1;
            // Answered ahead of everything queued (the urgent buffer).
            self.write_frame(&Frame::Ping(frame::Ping {
                ack: true,
                payload: p.payload,
            }));
            return;
        }
        let payload = u64::from_be_bytes(p.payload);
        let Some(i) = self
            .pings_in_flight
            .iter()
            .position(|(id, _)| *id == payload)
        else {
            // An ACK for nothing we sent: ignored.
            self.stats.frames_ignored += 1;
            return;
        };
        let (_, sent) = self.pings_in_flight.swap_remove(i);
        let rtt = now.saturating_duration_since(sent);
        self.stats.ping_acks_received += 1;
        self.stats.last_rtt = Some(rtt);
        self.stats.min_rtt = Some(self.stats.min_rtt.map_or(rtt, |m| m.min(rtt)));
        if self.shutdown == (Shutdown::Draining { ping: payload }) {
            self.finish_shutdown();
        }
        self.events.push(Event::PingAck { payload, rtt });
    }

    fn recv_goaway(&mut self, g: frame::GoAway) {
        self.stats.goaways_received.add(g.code);
        let last = g.last_stream_id;
        // A second GOAWAY may lower last_stream_id, never raise it (§6.8).
        let last = self.goaway_received.map_or(last, |prev| prev.min(last));
        self.goaway_received = Some(last);
        let unprocessed: Vec<StreamId> = self
            .streams
            .keys()
            .filter(|id| self.is_local(**id) && **id > last)
            .copied()
            .collect();
        for id in unprocessed {
            // The peer ignores these streams' frames; we drop any it sent before its GOAWAY.
            self.close_stream(id, Ended::ResetByUs);
            self.events.push(Event::Unprocessed { stream: id });
        }
        self.events.push(Event::GoAway {
            last_stream_id: g.last_stream_id,
            code: g.code,
            debug_data: g.debug_data,
        });
    }
}

/// §8.1.1: at END_STREAM the DATA received must match a declared content-length.
fn check_final_length(s: &Stream, id: StreamId) -> Result<(), Error> {
    match s.content_length {
        Some(len) if !s.head_request && s.data_received != len => Err(Error::stream(
            id,
            PROTOCOL,
            "DATA length differs from content-length (RFC 9113 §8.1.1)",
        )),
        _ => Ok(()),
    }
}

enum HeadError {
    Connection(Error),
    Malformed(&'static str),
    TooLarge,
}

impl HeadError {
    fn reason(&self) -> &'static str {
        match self {
            HeadError::Connection(e) => e.reason,
            HeadError::Malformed(r) => r,
            HeadError::TooLarge => {
                "header list larger than SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2)"
            }
        }
    }
}
