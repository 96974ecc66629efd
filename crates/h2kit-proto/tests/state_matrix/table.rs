//! The state × frame tables: the expected outcome of every cell, written from RFC 9113 (the
//! section is cited on each row). The runner is `state_matrix.rs`.

use h2kit_proto::ErrorCode;

pub(crate) const FLOW: ErrorCode = ErrorCode::FLOW_CONTROL_ERROR;
pub(crate) const FRAME_SIZE: ErrorCode = ErrorCode::FRAME_SIZE_ERROR;
pub(crate) const PROTOCOL: ErrorCode = ErrorCode::PROTOCOL_ERROR;
pub(crate) const CLOSED: ErrorCode = ErrorCode::STREAM_CLOSED;

/// Our stream window in these tests (the peer has acknowledged it).
pub(crate) const WINDOW: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// §5.1 idle: an identifier not used yet.
    Idle,
    /// Both sides sending; our message ends after the frame.
    Open,
    /// Our message ended first. The server's application discards the rest of the request
    /// (a handler that answered without reading it); the client's awaits the response.
    HalfClosedLocal,
    /// The peer ended its message; ours ends after the frame.
    HalfClosedRemote,
    /// Both messages ended, ours before the frame.
    ClosedEndStream,
    /// We reset the stream while it was open.
    ResetSent,
    /// Our message ended first, then we reset the stream: the server's RST_STREAM(NO_ERROR)
    /// after `drain_timeout`, the client giving up the response.
    ResetSentAfterEnd,
    /// The peer reset the stream while it was open.
    ResetReceived,
    /// Our message ended first, then the peer reset the stream.
    ResetReceivedAfterEnd,
    /// Server: a stream the peer opened after our final GOAWAY (§6.8: not processed).
    /// Client: our stream above the last_stream_id of the peer's GOAWAY.
    BeyondGoaway,
}

/// The frames a peer can send on a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// DATA within the stream window.
    Data,
    /// DATA within the window, with END_STREAM.
    DataEnd,
    /// DATA one byte beyond the stream window (the connection window has room).
    DataOverWindow,
    /// DATA one byte longer than SETTINGS_MAX_FRAME_SIZE.
    DataOverFrameSize,
    /// HEADERS as a new message: a request (to a server), a response (to a client), with
    /// END_STREAM.
    HeadersNew,
    /// HEADERS as trailers: one regular field, END_STREAM.
    Trailers,
    /// A second HEADERS without END_STREAM (one regular field).
    HeadersNoEnd,
    /// Trailers carrying a pseudo-header field after a regular one, END_STREAM.
    TrailersPseudo,
    /// CONTINUATION with no header block in progress.
    ContinuationAlone,
    Priority,
    RstStream,
    WindowUpdateZero,
    WindowUpdate,
    /// WINDOW_UPDATE taking the stream window above 2^31-1.
    WindowUpdateOverflow,
    /// A frame of a type RFC 9113 does not define.
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Deliver,
    Quiet,
    Stream(ErrorCode),
    Conn(ErrorCode),
}

use Frame as F;
use Outcome::{Conn, Deliver, Quiet, Stream};
use State::*;

pub(crate) type Row = (State, Frame, Outcome, &'static str);

/// The server role: the peer is a client.
#[rustfmt::skip]
pub(crate) const SERVER: &[Row] = &[
    (Idle, F::Data, Conn(PROTOCOL), "§5.1 idle: only HEADERS or PRIORITY"),
    (Idle, F::DataEnd, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::DataOverWindow, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (Idle, F::HeadersNew, Deliver, "§5.1 idle: HEADERS opens the stream"),
    (Idle, F::Trailers, Stream(PROTOCOL), "§8.3.1: a request without pseudo-headers is malformed (§8.1.1)"),
    (Idle, F::HeadersNoEnd, Stream(PROTOCOL), "§8.3.1, §8.1.1"),
    (Idle, F::TrailersPseudo, Stream(PROTOCOL), "§8.3: pseudo-header after a regular field"),
    (Idle, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (Idle, F::Priority, Quiet, "§5.1 idle: PRIORITY allowed"),
    (Idle, F::RstStream, Conn(PROTOCOL), "§6.4: RST_STREAM on an idle stream"),
    (Idle, F::WindowUpdateZero, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::WindowUpdate, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::WindowUpdateOverflow, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::Unknown, Quiet, "§5.5"),
    //
    (Open, F::Data, Deliver, "§5.1 open"),
    (Open, F::DataEnd, Deliver, "§5.1 open"),
    (Open, F::DataOverWindow, Stream(FLOW), "§6.9.1, §7 FLOW_CONTROL_ERROR"),
    (Open, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (Open, F::HeadersNew, Stream(PROTOCOL), "§8.1: a second field block is trailers; §8.3: no pseudo-headers in them"),
    (Open, F::Trailers, Deliver, "§8.1"),
    (Open, F::HeadersNoEnd, Stream(PROTOCOL), "§8.1: trailers end the stream"),
    (Open, F::TrailersPseudo, Stream(PROTOCOL), "§8.3, §8.1.1"),
    (Open, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (Open, F::Priority, Quiet, "§5.1, §6.3"),
    (Open, F::RstStream, Deliver, "§6.4"),
    (Open, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (Open, F::WindowUpdate, Quiet, "§6.9"),
    (Open, F::WindowUpdateOverflow, Stream(FLOW), "§6.9.1"),
    (Open, F::Unknown, Quiet, "§5.5"),
    //
    (HalfClosedLocal, F::Data, Quiet, "§5.1 half-closed (local): any frame; §8.1: the request body is not read"),
    (HalfClosedLocal, F::DataEnd, Quiet, "§5.1, §8.1"),
    (HalfClosedLocal, F::DataOverWindow, Stream(FLOW), "§6.9.1"),
    (HalfClosedLocal, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (HalfClosedLocal, F::HeadersNew, Stream(PROTOCOL), "§8.1, §8.3"),
    (HalfClosedLocal, F::Trailers, Quiet, "§8.1 (not read)"),
    (HalfClosedLocal, F::HeadersNoEnd, Stream(PROTOCOL), "§8.1"),
    (HalfClosedLocal, F::TrailersPseudo, Stream(PROTOCOL), "§8.3, §8.1.1"),
    (HalfClosedLocal, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (HalfClosedLocal, F::Priority, Quiet, "§5.1"),
    (HalfClosedLocal, F::RstStream, Deliver, "§6.4"),
    (HalfClosedLocal, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (HalfClosedLocal, F::WindowUpdate, Quiet, "§6.9"),
    (HalfClosedLocal, F::WindowUpdateOverflow, Stream(FLOW), "§6.9.1: the stream is not closed; its window is kept"),
    (HalfClosedLocal, F::Unknown, Quiet, "§5.5"),
    //
    (HalfClosedRemote, F::Data, Stream(CLOSED), "§5.1 half-closed (remote), §6.1"),
    (HalfClosedRemote, F::DataEnd, Stream(CLOSED), "§5.1, §6.1"),
    (HalfClosedRemote, F::DataOverWindow, Stream(CLOSED), "§6.1 (the state is judged first)"),
    (HalfClosedRemote, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (HalfClosedRemote, F::HeadersNew, Stream(CLOSED), "§5.1 half-closed (remote)"),
    (HalfClosedRemote, F::Trailers, Stream(CLOSED), "§5.1"),
    (HalfClosedRemote, F::HeadersNoEnd, Stream(CLOSED), "§5.1"),
    (HalfClosedRemote, F::TrailersPseudo, Stream(CLOSED), "§5.1"),
    (HalfClosedRemote, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (HalfClosedRemote, F::Priority, Quiet, "§5.1"),
    (HalfClosedRemote, F::RstStream, Deliver, "§5.1, §6.4"),
    (HalfClosedRemote, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (HalfClosedRemote, F::WindowUpdate, Quiet, "§6.9: MUST NOT be treated as an error"),
    (HalfClosedRemote, F::WindowUpdateOverflow, Stream(FLOW), "§6.9.1: we are still sending"),
    (HalfClosedRemote, F::Unknown, Quiet, "§5.5"),
    //
    (ClosedEndStream, F::Data, Stream(CLOSED), "§6.1 (§5.1 closed allows, no longer requires, a connection error)"),
    (ClosedEndStream, F::DataEnd, Stream(CLOSED), "§6.1"),
    (ClosedEndStream, F::DataOverWindow, Stream(CLOSED), "§6.1"),
    (ClosedEndStream, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ClosedEndStream, F::HeadersNew, Stream(CLOSED), "§5.1 closed"),
    (ClosedEndStream, F::Trailers, Stream(CLOSED), "§5.1 closed"),
    (ClosedEndStream, F::HeadersNoEnd, Stream(CLOSED), "§5.1 closed"),
    (ClosedEndStream, F::TrailersPseudo, Stream(CLOSED), "§5.1 closed"),
    (ClosedEndStream, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ClosedEndStream, F::Priority, Quiet, "§5.1"),
    (ClosedEndStream, F::RstStream, Quiet, "§5.1 closed: may arrive after our END_STREAM"),
    (ClosedEndStream, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (ClosedEndStream, F::WindowUpdate, Quiet, "§5.1 closed, §6.9"),
    (ClosedEndStream, F::WindowUpdateOverflow, Quiet, "§5.1 closed: no window any more"),
    (ClosedEndStream, F::Unknown, Quiet, "§5.5"),
    //
    (ResetSent, F::Data, Quiet, "§5.1 closed: after our RST_STREAM, ignored (counted for the connection window)"),
    (ResetSent, F::DataEnd, Quiet, "§5.1 closed"),
    (ResetSent, F::DataOverWindow, Quiet, "§5.1 closed"),
    (ResetSent, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ResetSent, F::HeadersNew, Quiet, "§5.1 closed: HPACK state updated, frame ignored"),
    (ResetSent, F::Trailers, Quiet, "§5.1 closed"),
    (ResetSent, F::HeadersNoEnd, Quiet, "§5.1 closed"),
    (ResetSent, F::TrailersPseudo, Quiet, "§5.1 closed"),
    (ResetSent, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ResetSent, F::Priority, Quiet, "§5.1"),
    (ResetSent, F::RstStream, Quiet, "§5.1 closed"),
    (ResetSent, F::WindowUpdateZero, Quiet, "§5.1 closed: ignored"),
    (ResetSent, F::WindowUpdate, Quiet, "§5.1 closed"),
    (ResetSent, F::WindowUpdateOverflow, Quiet, "§5.1 closed"),
    (ResetSent, F::Unknown, Quiet, "§5.5"),
    //
    (ResetSentAfterEnd, F::Data, Quiet, "§5.1 closed, §8.1"),
    (ResetSentAfterEnd, F::DataEnd, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::DataOverWindow, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ResetSentAfterEnd, F::HeadersNew, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::Trailers, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::HeadersNoEnd, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::TrailersPseudo, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ResetSentAfterEnd, F::Priority, Quiet, "§5.1"),
    (ResetSentAfterEnd, F::RstStream, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::WindowUpdateZero, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::WindowUpdate, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::WindowUpdateOverflow, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::Unknown, Quiet, "§5.5"),
    //
    (ResetReceived, F::Data, Stream(CLOSED), "§6.1, §6.4"),
    (ResetReceived, F::DataEnd, Stream(CLOSED), "§6.1"),
    (ResetReceived, F::DataOverWindow, Stream(CLOSED), "§6.1"),
    (ResetReceived, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ResetReceived, F::HeadersNew, Stream(CLOSED), "§5.1 closed"),
    (ResetReceived, F::Trailers, Stream(CLOSED), "§5.1 closed"),
    (ResetReceived, F::HeadersNoEnd, Stream(CLOSED), "§5.1 closed"),
    (ResetReceived, F::TrailersPseudo, Stream(CLOSED), "§5.1 closed"),
    (ResetReceived, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ResetReceived, F::Priority, Quiet, "§5.1"),
    (ResetReceived, F::RstStream, Quiet, "§5.4.2: no RST_STREAM in answer to one"),
    (ResetReceived, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (ResetReceived, F::WindowUpdate, Quiet, "§5.1 closed (an error is allowed, not required)"),
    (ResetReceived, F::WindowUpdateOverflow, Quiet, "§5.1 closed"),
    (ResetReceived, F::Unknown, Quiet, "§5.5"),
    //
    (ResetReceivedAfterEnd, F::Data, Stream(CLOSED), "§6.1, §6.4"),
    (ResetReceivedAfterEnd, F::DataEnd, Stream(CLOSED), "§6.1"),
    (ResetReceivedAfterEnd, F::DataOverWindow, Stream(CLOSED), "§6.1"),
    (ResetReceivedAfterEnd, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ResetReceivedAfterEnd, F::HeadersNew, Stream(CLOSED), "§5.1 closed"),
    (ResetReceivedAfterEnd, F::Trailers, Stream(CLOSED), "§5.1 closed"),
    (ResetReceivedAfterEnd, F::HeadersNoEnd, Stream(CLOSED), "§5.1 closed"),
    (ResetReceivedAfterEnd, F::TrailersPseudo, Stream(CLOSED), "§5.1 closed"),
    (ResetReceivedAfterEnd, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ResetReceivedAfterEnd, F::Priority, Quiet, "§5.1"),
    (ResetReceivedAfterEnd, F::RstStream, Quiet, "§5.4.2"),
    (ResetReceivedAfterEnd, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (ResetReceivedAfterEnd, F::WindowUpdate, Quiet, "§5.1 closed"),
    (ResetReceivedAfterEnd, F::WindowUpdateOverflow, Quiet, "§5.1 closed"),
    (ResetReceivedAfterEnd, F::Unknown, Quiet, "§5.5"),
    //
    (BeyondGoaway, F::Data, Quiet, "§6.8: streams above last_stream_id are not processed"),
    (BeyondGoaway, F::DataEnd, Quiet, "§6.8"),
    (BeyondGoaway, F::DataOverWindow, Quiet, "§6.8"),
    (BeyondGoaway, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (BeyondGoaway, F::HeadersNew, Quiet, "§6.8 (HPACK state still updated, §4.3)"),
    (BeyondGoaway, F::Trailers, Quiet, "§6.8"),
    (BeyondGoaway, F::HeadersNoEnd, Quiet, "§6.8"),
    (BeyondGoaway, F::TrailersPseudo, Quiet, "§6.8"),
    (BeyondGoaway, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (BeyondGoaway, F::Priority, Quiet, "§5.1"),
    (BeyondGoaway, F::RstStream, Quiet, "§6.8"),
    (BeyondGoaway, F::WindowUpdateZero, Quiet, "§6.8"),
    (BeyondGoaway, F::WindowUpdate, Quiet, "§6.8"),
    (BeyondGoaway, F::WindowUpdateOverflow, Quiet, "§6.8"),
    (BeyondGoaway, F::Unknown, Quiet, "§5.5"),
];

/// The client role: the peer is a server. In the open states the response head has arrived
/// (so DATA is its body).
#[rustfmt::skip]
pub(crate) const CLIENT: &[Row] = &[
    (Idle, F::Data, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::DataEnd, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::DataOverWindow, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (Idle, F::HeadersNew, Conn(PROTOCOL), "§5.1.1, §8.4: a server opens no streams without push"),
    (Idle, F::Trailers, Conn(PROTOCOL), "§5.1.1, §8.4"),
    (Idle, F::HeadersNoEnd, Conn(PROTOCOL), "§5.1.1, §8.4"),
    (Idle, F::TrailersPseudo, Conn(PROTOCOL), "§5.1.1, §8.4"),
    (Idle, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (Idle, F::Priority, Quiet, "§5.1 idle"),
    (Idle, F::RstStream, Conn(PROTOCOL), "§6.4"),
    (Idle, F::WindowUpdateZero, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::WindowUpdate, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::WindowUpdateOverflow, Conn(PROTOCOL), "§5.1 idle"),
    (Idle, F::Unknown, Quiet, "§5.5"),
    //
    (Open, F::Data, Deliver, "§5.1 open"),
    (Open, F::DataEnd, Deliver, "§5.1 open"),
    (Open, F::DataOverWindow, Stream(FLOW), "§6.9.1"),
    (Open, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (Open, F::HeadersNew, Stream(PROTOCOL), "§8.1: after a final response only trailers; §8.3"),
    (Open, F::Trailers, Deliver, "§8.1"),
    (Open, F::HeadersNoEnd, Stream(PROTOCOL), "§8.1"),
    (Open, F::TrailersPseudo, Stream(PROTOCOL), "§8.3, §8.1.1"),
    (Open, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (Open, F::Priority, Quiet, "§5.1"),
    (Open, F::RstStream, Deliver, "§6.4"),
    (Open, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (Open, F::WindowUpdate, Quiet, "§6.9"),
    (Open, F::WindowUpdateOverflow, Stream(FLOW), "§6.9.1"),
    (Open, F::Unknown, Quiet, "§5.5"),
    //
    (HalfClosedLocal, F::Data, Deliver, "§5.1 half-closed (local)"),
    (HalfClosedLocal, F::DataEnd, Deliver, "§5.1"),
    (HalfClosedLocal, F::DataOverWindow, Stream(FLOW), "§6.9.1"),
    (HalfClosedLocal, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (HalfClosedLocal, F::HeadersNew, Stream(PROTOCOL), "§8.1, §8.3"),
    (HalfClosedLocal, F::Trailers, Deliver, "§8.1"),
    (HalfClosedLocal, F::HeadersNoEnd, Stream(PROTOCOL), "§8.1"),
    (HalfClosedLocal, F::TrailersPseudo, Stream(PROTOCOL), "§8.3, §8.1.1"),
    (HalfClosedLocal, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (HalfClosedLocal, F::Priority, Quiet, "§5.1"),
    (HalfClosedLocal, F::RstStream, Deliver, "§6.4"),
    (HalfClosedLocal, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (HalfClosedLocal, F::WindowUpdate, Quiet, "§6.9"),
    (HalfClosedLocal, F::WindowUpdateOverflow, Stream(FLOW), "§6.9.1"),
    (HalfClosedLocal, F::Unknown, Quiet, "§5.5"),
    //
    (HalfClosedRemote, F::Data, Stream(CLOSED), "§5.1 half-closed (remote), §6.1"),
    (HalfClosedRemote, F::DataEnd, Stream(CLOSED), "§6.1"),
    (HalfClosedRemote, F::DataOverWindow, Stream(CLOSED), "§6.1"),
    (HalfClosedRemote, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (HalfClosedRemote, F::HeadersNew, Stream(CLOSED), "§5.1"),
    (HalfClosedRemote, F::Trailers, Stream(CLOSED), "§5.1"),
    (HalfClosedRemote, F::HeadersNoEnd, Stream(CLOSED), "§5.1"),
    (HalfClosedRemote, F::TrailersPseudo, Stream(CLOSED), "§5.1"),
    (HalfClosedRemote, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (HalfClosedRemote, F::Priority, Quiet, "§5.1"),
    (HalfClosedRemote, F::RstStream, Deliver, "§6.4"),
    (HalfClosedRemote, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (HalfClosedRemote, F::WindowUpdate, Quiet, "§6.9"),
    (HalfClosedRemote, F::WindowUpdateOverflow, Stream(FLOW), "§6.9.1: we are still sending"),
    (HalfClosedRemote, F::Unknown, Quiet, "§5.5"),
    //
    (ClosedEndStream, F::Data, Stream(CLOSED), "§6.1"),
    (ClosedEndStream, F::DataEnd, Stream(CLOSED), "§6.1"),
    (ClosedEndStream, F::DataOverWindow, Stream(CLOSED), "§6.1"),
    (ClosedEndStream, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ClosedEndStream, F::HeadersNew, Stream(CLOSED), "§5.1 closed"),
    (ClosedEndStream, F::Trailers, Stream(CLOSED), "§5.1 closed"),
    (ClosedEndStream, F::HeadersNoEnd, Stream(CLOSED), "§5.1 closed"),
    (ClosedEndStream, F::TrailersPseudo, Stream(CLOSED), "§5.1 closed"),
    (ClosedEndStream, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ClosedEndStream, F::Priority, Quiet, "§5.1"),
    (ClosedEndStream, F::RstStream, Quiet, "§5.1 closed"),
    (ClosedEndStream, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (ClosedEndStream, F::WindowUpdate, Quiet, "§5.1 closed, §6.9"),
    (ClosedEndStream, F::WindowUpdateOverflow, Quiet, "§5.1 closed: no window any more"),
    (ClosedEndStream, F::Unknown, Quiet, "§5.5"),
    //
    (ResetSent, F::Data, Quiet, "§5.1 closed: after our RST_STREAM, ignored"),
    (ResetSent, F::DataEnd, Quiet, "§5.1 closed"),
    (ResetSent, F::DataOverWindow, Quiet, "§5.1 closed"),
    (ResetSent, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ResetSent, F::HeadersNew, Quiet, "§5.1 closed"),
    (ResetSent, F::Trailers, Quiet, "§5.1 closed"),
    (ResetSent, F::HeadersNoEnd, Quiet, "§5.1 closed"),
    (ResetSent, F::TrailersPseudo, Quiet, "§5.1 closed"),
    (ResetSent, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ResetSent, F::Priority, Quiet, "§5.1"),
    (ResetSent, F::RstStream, Quiet, "§5.1 closed"),
    (ResetSent, F::WindowUpdateZero, Quiet, "§5.1 closed"),
    (ResetSent, F::WindowUpdate, Quiet, "§5.1 closed"),
    (ResetSent, F::WindowUpdateOverflow, Quiet, "§5.1 closed"),
    (ResetSent, F::Unknown, Quiet, "§5.5"),
    //
    (ResetSentAfterEnd, F::Data, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::DataEnd, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::DataOverWindow, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ResetSentAfterEnd, F::HeadersNew, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::Trailers, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::HeadersNoEnd, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::TrailersPseudo, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ResetSentAfterEnd, F::Priority, Quiet, "§5.1"),
    (ResetSentAfterEnd, F::RstStream, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::WindowUpdateZero, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::WindowUpdate, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::WindowUpdateOverflow, Quiet, "§5.1 closed"),
    (ResetSentAfterEnd, F::Unknown, Quiet, "§5.5"),
    //
    (ResetReceived, F::Data, Stream(CLOSED), "§6.1"),
    (ResetReceived, F::DataEnd, Stream(CLOSED), "§6.1"),
    (ResetReceived, F::DataOverWindow, Stream(CLOSED), "§6.1"),
    (ResetReceived, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ResetReceived, F::HeadersNew, Stream(CLOSED), "§5.1 closed"),
    (ResetReceived, F::Trailers, Stream(CLOSED), "§5.1 closed"),
    (ResetReceived, F::HeadersNoEnd, Stream(CLOSED), "§5.1 closed"),
    (ResetReceived, F::TrailersPseudo, Stream(CLOSED), "§5.1 closed"),
    (ResetReceived, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ResetReceived, F::Priority, Quiet, "§5.1"),
    (ResetReceived, F::RstStream, Quiet, "§5.4.2"),
    (ResetReceived, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (ResetReceived, F::WindowUpdate, Quiet, "§5.1 closed"),
    (ResetReceived, F::WindowUpdateOverflow, Quiet, "§5.1 closed"),
    (ResetReceived, F::Unknown, Quiet, "§5.5"),
    //
    (ResetReceivedAfterEnd, F::Data, Stream(CLOSED), "§6.1"),
    (ResetReceivedAfterEnd, F::DataEnd, Stream(CLOSED), "§6.1"),
    (ResetReceivedAfterEnd, F::DataOverWindow, Stream(CLOSED), "§6.1"),
    (ResetReceivedAfterEnd, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (ResetReceivedAfterEnd, F::HeadersNew, Stream(CLOSED), "§5.1 closed"),
    (ResetReceivedAfterEnd, F::Trailers, Stream(CLOSED), "§5.1 closed"),
    (ResetReceivedAfterEnd, F::HeadersNoEnd, Stream(CLOSED), "§5.1 closed"),
    (ResetReceivedAfterEnd, F::TrailersPseudo, Stream(CLOSED), "§5.1 closed"),
    (ResetReceivedAfterEnd, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (ResetReceivedAfterEnd, F::Priority, Quiet, "§5.1"),
    (ResetReceivedAfterEnd, F::RstStream, Quiet, "§5.4.2"),
    (ResetReceivedAfterEnd, F::WindowUpdateZero, Stream(PROTOCOL), "§6.9"),
    (ResetReceivedAfterEnd, F::WindowUpdate, Quiet, "§5.1 closed"),
    (ResetReceivedAfterEnd, F::WindowUpdateOverflow, Quiet, "§5.1 closed"),
    (ResetReceivedAfterEnd, F::Unknown, Quiet, "§5.5"),
    //
    (BeyondGoaway, F::Data, Quiet, "§6.8: the server did not process it; its frames are dropped"),
    (BeyondGoaway, F::DataEnd, Quiet, "§6.8"),
    (BeyondGoaway, F::DataOverWindow, Quiet, "§6.8"),
    (BeyondGoaway, F::DataOverFrameSize, Conn(FRAME_SIZE), "§4.2"),
    (BeyondGoaway, F::HeadersNew, Quiet, "§6.8 (HPACK state still updated, §4.3)"),
    (BeyondGoaway, F::Trailers, Quiet, "§6.8"),
    (BeyondGoaway, F::HeadersNoEnd, Quiet, "§6.8"),
    (BeyondGoaway, F::TrailersPseudo, Quiet, "§6.8"),
    (BeyondGoaway, F::ContinuationAlone, Conn(PROTOCOL), "§6.10"),
    (BeyondGoaway, F::Priority, Quiet, "§5.1"),
    (BeyondGoaway, F::RstStream, Quiet, "§6.8"),
    (BeyondGoaway, F::WindowUpdateZero, Quiet, "§6.8"),
    (BeyondGoaway, F::WindowUpdate, Quiet, "§6.8"),
    (BeyondGoaway, F::WindowUpdateOverflow, Quiet, "§6.8"),
    (BeyondGoaway, F::Unknown, Quiet, "§5.5"),
];

/// The pairs of rows that are one state reached in both orders, and the cells where RFC 9113
/// itself answers differently: a WINDOW_UPDATE overflowing a window we still send on is a
/// FLOW_CONTROL_ERROR (§6.9.1), while a closed stream has no window left to overflow (§5.1).
pub(crate) const PAIRS: &[(State, State)] = &[
    (Open, HalfClosedLocal),
    (HalfClosedRemote, ClosedEndStream),
    (ResetSent, ResetSentAfterEnd),
    (ResetReceived, ResetReceivedAfterEnd),
];
pub(crate) const RFC_DIFFERS: &[(State, Frame)] = &[(ClosedEndStream, F::WindowUpdateOverflow)];

pub(crate) const ALL_STATES: [State; 10] = [
    Idle,
    Open,
    HalfClosedLocal,
    HalfClosedRemote,
    ClosedEndStream,
    ResetSent,
    ResetSentAfterEnd,
    ResetReceived,
    ResetReceivedAfterEnd,
    BeyondGoaway,
];
pub(crate) const ALL_FRAMES: [Frame; 15] = [
    F::Data,
    F::DataEnd,
    F::DataOverWindow,
    F::DataOverFrameSize,
    F::HeadersNew,
    F::Trailers,
    F::HeadersNoEnd,
    F::TrailersPseudo,
    F::ContinuationAlone,
    F::Priority,
    F::RstStream,
    F::WindowUpdateZero,
    F::WindowUpdate,
    F::WindowUpdateOverflow,
    F::Unknown,
];
