//! Commands: what the application asks the connection to send.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method};

use super::{Connection, Ended, Role, SendError, Shutdown};
use crate::frame::{self, Frame, Settings, StreamId};
use crate::hpack::{FieldRef, Pseudo};
use crate::message::{self, Protocol};
use crate::stream::Stream;
use crate::ErrorCode;

/// RFC 9113 §6.5.2 size of header fields: name + value + 32 per field.
fn map_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 32)
        .sum()
}

impl Connection {
    /// The peer's SETTINGS_MAX_HEADER_LIST_SIZE is advisory (§6.5.2), but a list above it
    /// would most likely be refused; we say so to the application instead of sending it.
    fn check_list_size(&self, size: usize) -> Result<(), SendError> {
        if size > self.peer_max_header_list_size as usize {
            return Err(SendError::Malformed(
                "header list larger than the peer's SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2)",
            ));
        }
        Ok(())
    }

    fn check_alive(&self) -> Result<(), SendError> {
        if self.error.is_some() {
            Err(SendError::ConnectionClosed)
        } else {
            Ok(())
        }
    }

    /// Client: opens a stream with a request's header section (§8.3.1). Fails with
    /// `ConcurrencyLimit` when the peer's MAX_CONCURRENT_STREAMS is reached — an
    /// [`Event::StreamsAvailable`](crate::Event::StreamsAvailable) follows when a slot frees.
    pub fn send_request(
        &mut self,
        req: &http::request::Parts,
        end_stream: bool,
    ) -> Result<StreamId, SendError> {
        // Taken whether or not the stream opens: it belongs to this request only.
        let span = self.tracer.as_mut().and_then(|t| t.next_span.take());
        self.check_alive()?;
        if self.role != Role::Client {
            return Err(SendError::InvalidState("only a client sends requests"));
        }
        if self.goaway_received.is_some() || self.goaway_sent {
            return Err(SendError::GoingAway);
        }
        if self.next_local_id > frame::MAX_WINDOW_SIZE {
            return Err(SendError::StreamIdsExhausted);
        }
        if self.active_local >= self.peer_max_streams as usize {
            self.want_streams_available = true;
            return Err(SendError::ConcurrencyLimit);
        }
        message::check_outgoing(&req.headers).map_err(SendError::Malformed)?;
        let uri = &req.uri;
        let authority = uri
            .authority()
            .map(|a| a.as_str().as_bytes())
            .or_else(|| req.headers.get(http::header::HOST).map(|h| h.as_bytes()));
        let protocol = req.extensions.get::<Protocol>();
        if protocol.is_some() && !self.peer_connect_protocol {
            if !self.peer_settings_received {
                // Whether the server allows it is not known before its SETTINGS (RFC 8441
                // §3): the request waits as for a slot, and the event follows the SETTINGS.
                self.want_streams_available = true;
                return Err(SendError::ConcurrencyLimit);
            }
            return Err(SendError::Malformed(
                "extended CONNECT: the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL \
                 (RFC 8441 §3)",
            ));
        }
        let plain_connect = req.method == Method::CONNECT && protocol.is_none();
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let path = if path.is_empty() { "/" } else { path };
        let mut pseudo: [Option<FieldRef>; 5] = [
            Some(FieldRef::pseudo(
                Pseudo::Method,
                req.method.as_str().as_bytes(),
            )),
            None,
            authority.map(|a| FieldRef::pseudo(Pseudo::Authority, a)),
            None,
            protocol.map(|p| FieldRef::pseudo(Pseudo::Protocol, &p.0)),
        ];
        if !plain_connect {
            pseudo[1] = Some(FieldRef::pseudo(
                Pseudo::Scheme,
                uri.scheme_str().unwrap_or("https").as_bytes(),
            ));
            pseudo[3] = Some(FieldRef::pseudo(Pseudo::Path, path.as_bytes()));
        } else if authority.is_none() {
            return Err(SendError::Malformed(
                "CONNECT needs an authority (RFC 9113 §8.5)",
            ));
        }
        // Host is carried as :authority (§8.3.1).
        let regular = || {
            req.headers
                .iter()
                .filter(|(n, _)| **n != http::header::HOST)
                .map(|(n, v)| FieldRef::header(n, v))
        };
        if self.peer_max_header_list_size != u32::MAX {
            let size = map_size(&req.headers)
                + pseudo
                    .iter()
                    .flatten()
                    .map(|f| f.name.len() + f.value.len() + 32)
                    .sum::<usize>();
            self.check_list_size(size)?;
        }
        let id = StreamId(self.next_local_id);
        self.next_local_id += 2;
        let mut block = std::mem::take(&mut self.header_buf);
        self.encoder.encode_repeatable(
            || pseudo.iter().flatten().copied().chain(regular()),
            &mut block,
        );

        let mut stream = Stream::new(self.peer_initial_window, self.local_initial_window);
        stream.head_sent = true;
        stream.send_closed = end_stream;
        stream.head_request = req.method == Method::HEAD;
        self.streams.insert(id, stream);
        self.active_local += 1;
        self.stats.streams_opened_local += 1;
        self.stats.extended_connects += u64::from(protocol.is_some());
        if let (Some(t), Some(span)) = (self.tracer.as_mut(), span) {
            t.spans.insert(id, span);
        }
        self.write_header_block(id, &mut block, end_stream);
        self.header_buf = block;
        Ok(id)
    }

    /// Server: sends a response header section. Informational (1xx) responses may precede the
    /// final one and never end the stream.
    pub fn send_response(
        &mut self,
        id: StreamId,
        res: &http::response::Parts,
        end_stream: bool,
    ) -> Result<(), SendError> {
        self.check_alive()?;
        let informational = res.status.is_informational();
        if informational && (end_stream || res.status == http::StatusCode::SWITCHING_PROTOCOLS) {
            return Err(SendError::Malformed(
                "1xx responses cannot end a stream, and 101 does not exist in HTTP/2 (RFC 9113 §8.1, §8.6)",
            ));
        }
        message::check_outgoing(&res.headers).map_err(SendError::Malformed)?;
        let stream = self.streams.get(&id).ok_or(SendError::StreamClosed)?;
        if self.role != Role::Server || stream.send_closed {
            return Err(SendError::StreamClosed);
        }
        if stream.head_sent {
            return Err(SendError::InvalidState("response already sent"));
        }
        let status = res.status.as_str().as_bytes();
        let fields = || {
            std::iter::once(FieldRef::pseudo(Pseudo::Status, status))
                .chain(res.headers.iter().map(|(n, v)| FieldRef::header(n, v)))
        };
        self.check_list_size(map_size(&res.headers) + status.len() + 7 + 32)?;
        let mut block = std::mem::take(&mut self.header_buf);
        self.encoder.encode_repeatable(fields, &mut block);
        if let Some(s) = self.streams.get_mut(&id) {
            s.head_sent = !informational;
            s.send_closed = end_stream;
        }
        self.write_header_block(id, &mut block, end_stream);
        self.header_buf = block;
        if end_stream {
            self.maybe_close(id);
        }
        Ok(())
    }

    /// Sends trailers, ending the stream (§8.1).
    pub fn send_trailers(&mut self, id: StreamId, trailers: &HeaderMap) -> Result<(), SendError> {
        self.check_alive()?;
        message::check_outgoing(trailers).map_err(SendError::Malformed)?;
        self.check_list_size(map_size(trailers))?;
        let stream = self.streams.get_mut(&id).ok_or(SendError::StreamClosed)?;
        if stream.send_closed {
            return Err(SendError::StreamClosed);
        }
        if !stream.head_sent {
            return Err(SendError::InvalidState(
                "trailers before the header section",
            ));
        }
        stream.send_closed = true;
        let mut block = std::mem::take(&mut self.header_buf);
        self.encoder.encode(
            trailers.iter().map(|(n, v)| FieldRef::header(n, v)),
            &mut block,
        );
        self.write_header_block(id, &mut block, true);
        self.header_buf = block;
        self.maybe_close(id);
        Ok(())
    }

    /// Writes HEADERS and as many CONTINUATION frames as the peer's SETTINGS_MAX_FRAME_SIZE
    /// requires. They go out back to back, as §6.10 demands. The block is copied straight from
    /// the encoder's scratch buffer into the output: no `Bytes` is made of it (that would cost
    /// a shared allocation's reference counting per request), except for the frame trace.
    fn write_header_block(&mut self, id: StreamId, block: &mut BytesMut, end_stream: bool) {
        use frame::flags::{END_HEADERS, END_STREAM};
        let max = self.peer_max_frame_size as usize;
        let mut rest: &[u8] = block;
        let mut kind = frame::FrameType::Headers;
        loop {
            let (chunk, tail) = rest.split_at(rest.len().min(max));
            let mut flags = if tail.is_empty() { END_HEADERS } else { 0 };
            if kind == frame::FrameType::Headers && end_stream {
                flags |= END_STREAM;
            }
            if crate::trace::enabled() {
                let block = Bytes::copy_from_slice(chunk);
                let end_headers = tail.is_empty();
                let f = match kind {
                    frame::FrameType::Headers => Frame::Headers(frame::Headers {
                        stream_id: id,
                        block,
                        end_stream,
                        end_headers,
                        priority: None,
                        pad: None,
                    }),
                    _ => Frame::Continuation(frame::Continuation {
                        stream_id: id,
                        block,
                        end_headers,
                    }),
                };
                self.trace_frame(crate::trace::Direction::Send, &f);
            }
            self.stats.frames_sent.add(kind as u8);
            self.out.reserve(frame::HEADER_LEN + chunk.len());
            frame::put_header(&mut self.out, chunk.len(), kind as u8, flags, id);
            self.out.extend_from_slice(chunk);
            rest = tail;
            kind = frame::FrameType::Continuation;
            if rest.is_empty() {
                break;
            }
        }
        block.clear();
    }

    /// Sends as much of `data` as the stream and connection windows allow, in frames no larger
    /// than the peer's SETTINGS_MAX_FRAME_SIZE, and returns the rest (empty when all went).
    /// END_STREAM goes on the last frame only once everything is sent; an empty `data` with
    /// `end_stream` sends an empty DATA frame, which needs no window. When something is left,
    /// an [`Event::SendCapacity`](crate::Event::SendCapacity) follows once the window opens.
    pub fn send_data(
        &mut self,
        id: StreamId,
        mut data: Bytes,
        end_stream: bool,
    ) -> Result<Bytes, SendError> {
        self.check_alive()?;
        let stream = self.streams.get_mut(&id).ok_or(SendError::StreamClosed)?;
        if stream.send_closed {
            return Err(SendError::StreamClosed);
        }
        if !stream.head_sent {
            return Err(SendError::InvalidState("DATA before the header section"));
        }
        let mut n = data
            .len()
            .min(stream.send.available())
            .min(self.conn_send.available());
        // An incremental stream splitting a reopened window with others of its urgency
        // takes its share (RFC 9218 §10, see `priorities`).
        let mut another_turn = false;
        if stream.share > 0 {
            let share = stream.share as usize;
            another_turn = n > share;
            n = n.min(share);
            // A chunk that ran out within the share leaves the rest of it to the stream's
            // next chunk, queued behind it, in the same turn.
            stream.share = if n == data.len() {
                (share - n) as u32
            } else {
                0
            };
            self.last_turn = id.0;
        }
        stream.send.consume(n);
        self.conn_send.consume(n);
        let done = n == data.len();
        stream.send_blocked = !done;
        if done && end_stream {
            stream.send_closed = true;
        }
        let max = self.peer_max_frame_size as usize;
        let mut chunk = data.split_to(n);
        loop {
            let piece = chunk.split_to(chunk.len().min(max));
            let last = chunk.is_empty();
            if piece.is_empty() && !(last && done && end_stream) {
                break;
            }
            self.write_frame(&Frame::Data(frame::Data {
                stream_id: id,
                data: piece,
                end_stream: last && done && end_stream,
                pad: None,
            }));
            if last {
                break;
            }
        }
        if done && end_stream {
            self.maybe_close(id);
        }
        if another_turn && self.conn_send.available() > 0 {
            self.unblock(id);
        }
        Ok(data)
    }

    /// The application consumed `n` bytes of a stream's DATA (or discarded them): the
    /// connection window and, while the stream is still receiving, the stream window are
    /// reopened, in batches (see [`RecvWindow`](crate::flow::RecvWindow)). A stream whose
    /// message is discarded gets no stream credit once our side has ended (see
    /// [`discard_incoming`](Self::discard_incoming)).
    pub fn release_capacity(&mut self, id: StreamId, n: usize) {
        if self.error.is_some() || n == 0 {
            return;
        }
        let n = n.min(u32::MAX as usize) as u32;
        if let Some(inc) = self.conn_recv.release(n) {
            self.write_window_update(StreamId(0), inc);
        }
        let inc = match self.streams.get_mut(&id) {
            Some(s) if s.returns_credit() => s.recv.release(n),
            _ => None,
        };
        if let Some(inc) = inc {
            self.write_window_update(id, inc);
        }
    }

    /// Resets a stream with `code`. On a stream that is already closed — END_STREAM sent and
    /// received, or reset by either side — nothing is sent (§5.1 forbids it) and the
    /// suppressed reset is counted.
    pub fn reset(&mut self, id: StreamId, code: ErrorCode) {
        if self.error.is_some() || !self.streams.contains_key(&id) {
            self.stats.suppressed_resets += 1;
            return;
        }
        self.send_reset(id, code);
    }

    /// The application lost interest in a stream (dropped its future or body). Nothing is
    /// sent if the stream is already closed (even when its END_STREAM was received but not
    /// yet consumed: the stream is closed on our side the moment END_STREAM is processed);
    /// otherwise RST_STREAM(CANCEL). That includes a stream whose peer has finished while our
    /// own message has not: an END_STREAM would present a truncated message as complete (and
    /// one that declared its content-length as malformed, RFC 9113 §8.1.1).
    pub fn cancel(&mut self, id: StreamId) {
        self.reset(id, ErrorCode::CANCEL);
    }

    /// Writes RST_STREAM, closes the stream and remembers it so late frames are dropped.
    pub(super) fn send_reset(&mut self, id: StreamId, code: ErrorCode) {
        self.write_frame(&Frame::RstStream(frame::RstStream {
            stream_id: id,
            code,
        }));
        self.stats.resets_sent.add(code);
        self.close_stream(id, Ended::ResetByUs);
    }

    /// Sends a PING with a payload distinct from every earlier one; its ACK yields an
    /// [`Event::PingAck`](crate::Event::PingAck) with the round-trip time. Returns the payload.
    pub fn ping(&mut self, now: Instant) -> u64 {
        self.last_instant = self.last_instant.max(now);
        let payload = self.next_ping;
        self.next_ping += 1;
        self.pings_in_flight.push((payload, now));
        self.stats.pings_sent += 1;
        self.write_frame(&Frame::Ping(frame::Ping {
            ack: false,
            payload: payload.to_be_bytes(),
        }));
        payload
    }

    /// PINGs sent and not yet acknowledged.
    pub fn pings_in_flight(&self) -> usize {
        self.pings_in_flight.len()
    }

    /// Starts a graceful shutdown (§6.8). A server sends GOAWAY with 2^31-1 and a PING; when
    /// the PING returns, every stream the client started before seeing the first GOAWAY has
    /// arrived, and the final GOAWAY names the true last stream. A client simply sends GOAWAY.
    /// Streams in progress finish; then [`is_closed`](Self::is_closed) turns true.
    pub fn graceful_shutdown(&mut self, now: Instant) {
        if self.error.is_some() || self.shutdown != Shutdown::None {
            return;
        }
        if self.role == Role::Server {
            self.write_goaway(StreamId::MAX, ErrorCode::NO_ERROR, Bytes::new());
            let ping = self.ping(now);
            self.shutdown = Shutdown::Draining { ping };
        } else {
            self.write_goaway(
                StreamId(self.max_peer_id),
                ErrorCode::NO_ERROR,
                Bytes::new(),
            );
            self.goaway_sent = true;
            self.shutdown = Shutdown::Final;
        }
    }

    /// Closes a connection that has no stream: one GOAWAY naming the last stream processed.
    /// Two phases are not needed — a request crossing it on the wire is above that id, which
    /// tells the client it was not processed — and a dead peer that never answers a PING
    /// cannot keep the connection open.
    pub fn close_idle(&mut self) {
        if self.error.is_some() || self.shutdown == Shutdown::Final {
            return;
        }
        self.finish_shutdown();
    }

    /// Sends the final GOAWAY of a graceful shutdown.
    pub(super) fn finish_shutdown(&mut self) {
        let last = StreamId(self.last_processed_peer_id);
        self.write_goaway(last, ErrorCode::NO_ERROR, Bytes::new());
        // Streams that only wait for the peer to finish a message nobody reads have nothing
        // left to drain.
        self.reset_drained();
        self.goaway_sent = true;
        self.shutdown = Shutdown::Final;
    }

    /// Ends the connection at once with `code` (a connection error we decided on, e.g. an
    /// abusive peer); `debug` goes into the GOAWAY.
    pub fn goaway(&mut self, code: ErrorCode, debug: &'static str) {
        let _ = self.connection_error(crate::Error::connection(code, debug));
    }

    fn write_goaway(&mut self, last: StreamId, code: ErrorCode, debug: Bytes) {
        self.write_frame(&Frame::GoAway(frame::GoAway {
            last_stream_id: last,
            code,
            debug_data: debug,
        }));
        self.stats.goaways_sent.add(code);
    }

    /// Sends new local settings. They take effect when the peer acknowledges them (§6.5.3),
    /// except where honouring them early is harmless: a larger frame size, window or
    /// concurrency limit is accepted from the moment it is sent.
    pub fn update_settings(&mut self, settings: Settings, now: Instant) {
        if self.error.is_some() || settings.ack {
            return;
        }
        self.last_instant = self.last_instant.max(now);
        use frame::Setting::*;
        if let Some(v) = settings.get(MaxFrameSize) {
            let cur = self.frames.max_frame_size();
            self.frames.set_max_frame_size(cur.max(v));
        }
        if let Some(v) = settings.get(MaxConcurrentStreams) {
            self.local_max_streams = self.local_max_streams.max(v);
        }
        if let Some(v) = settings.get(InitialWindowSize) {
            if v > self.local_initial_window {
                self.apply_local_initial_window(v);
            }
        }
        self.write_frame(&Frame::Settings(settings));
        self.pending_settings.push_back((settings, now));
    }

    /// §6.9.2 applied to our receive windows: every stream's window moves by the difference.
    pub(super) fn apply_local_initial_window(&mut self, v: u32) {
        let delta = v as i64 - self.local_initial_window as i64;
        self.local_initial_window = v;
        for s in self.streams.values_mut() {
            s.recv.adjust(delta);
        }
    }
}
