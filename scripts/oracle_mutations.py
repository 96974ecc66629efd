#!/usr/bin/env python3
"""Mutation check of the stream-state tests: each mutation breaks one §5.1 rule (or one rule of
the documented drain and memory policy) in h2kit-proto, and at least one of the oracle property
test (tests/stream_oracle.rs), the state x frame matrix (tests/state_matrix.rs) and the drain
tests (tests/discarded_body.rs) must fail; which ones did is printed.

Usage: scripts/oracle_mutations.py        (from the repository root; a few minutes: one
                                           rebuild of h2kit-proto's tests per mutation)
Prints one line per mutation with which test caught it; exits 1 if a mutation survives both.
Every source file is restored afterwards, whatever happens.
"""
import subprocess
import sys
from pathlib import Path

SRC = Path("crates/h2kit-proto/src/connection")

# (name, file, text, replacement), or (name, [(file, text, replacement), ...]) for a rule that
# lives in several places; every text must occur exactly once in its file.
MUTATIONS = [
    (
        "a stream closed by END_STREAM both ways answers with a connection error (RFC 7540)",
        "closed.rs",
        """            Some(Ended::Finished) => Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,""",
        """            Some(Ended::Finished) => Err(Error::connection(
                ErrorCode::STREAM_CLOSED,""",
    ),
    (
        "frames after our own RST_STREAM are answered instead of dropped",
        [
            (
                "closed.rs",
                """            Some(Ended::ResetByUs) => {
                self.stats.frames_ignored += 1;
                Ok(())
            }""",
                """            Some(Ended::ResetByUs) => Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "mutated",
            )),""",
            ),
            (
                "recv.rs",
                "} else if self.ended(id) != Some(Ended::ResetByUs) {",
                "} else if true {",
            ),
        ],
    ),
    (
        "frames after the peer's RST_STREAM are dropped",
        "closed.rs",
        """            Some(Ended::ResetByPeer) => Err(Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "frame after the peer's own RST_STREAM (RFC 9113 §5.1, §6.1)",
            )),""",
        """            Some(Ended::ResetByPeer) => Ok(()),""",
    ),
    (
        "DATA on a half-closed (remote) stream is accepted",
        "recv.rs",
        """        if stream.recv_closed {
            self.release_connection(flow);
            return Err(Error::stream(""",
        """        if stream.recv_closed && false {
            self.release_connection(flow);
            return Err(Error::stream(""",
    ),
    (
        "trailers without END_STREAM are accepted",
        "recv.rs",
        "if kind == Kind::Trailers && !end_stream {",
        "if kind == Kind::Trailers && !end_stream && false {",
    ),
    (
        "DATA beyond the stream window is accepted",
        "recv.rs",
        "if stream.recv.recv(flow).is_err() {",
        "if stream.recv.recv(flow).is_err() && false {",
    ),
    (
        "a stream window overflowing 2^31-1 is accepted",
        "recv.rs",
        "if s.send.increase(w.increment).is_err() {",
        "if s.send.increase(w.increment).is_err() && false {",
    ),
    (
        "RST_STREAM on an idle stream is ignored",
        "recv.rs",
        """            return Err(conn_err(
                PROTOCOL,
                "RST_STREAM on an idle stream (RFC 9113 §6.4)",
            ));""",
        """            return Ok(());""",
    ),
    (
        "WINDOW_UPDATE on an idle stream is ignored",
        "recv.rs",
        """                return Err(conn_err(
                    PROTOCOL,
                    "WINDOW_UPDATE on an idle stream (RFC 9113 §5.1)",
                ));""",
        """                return Ok(());""",
    ),
    (
        "DATA before the response head is accepted",
        "recv.rs",
        "if stream.phase == RecvPhase::Head {",
        "if stream.phase == RecvPhase::Head && false {",
    ),
    (
        "a discarded message is reset as soon as our side ends (no drain)",
        "drain.rs",
        "if s.recv.window() <= 0 && !complete {",
        "if true {",
    ),
    (
        "a discarded message is not reset when its window is used up",
        "drain.rs",
        "if s.recv.window() <= 0 && !complete {",
        "if false {",
    ),
    (
        "the drain deadline never expires",
        "mod.rs",
        """            if self.error.is_none() && self.streams.contains_key(&id) {
                self.send_reset(id, crate::ErrorCode::NO_ERROR);
            }""",
        """            let _ = id;""",
    ),
    (
        "a discarded message gets stream credit after our side ended",
        "../stream.rs",
        "!(self.recv_closed || (self.discard && self.send_closed))",
        "!self.recv_closed",
    ),
    (
        "discarded DATA is delivered to the application",
        "recv.rs",
        """        if stream.discard {
            // Checked like any other DATA; nobody reads it (see `drain`).""",
        """        if stream.discard && false {
            // Checked like any other DATA; nobody reads it (see `drain`).""",
    ),
    (
        "a closed stream's memory expires by its first closing, not its last",
        "closed.rs",
        "if e.get().1 == seq {",
        "if true {",
    ),
    (
        "a reset is sent on a stream that is already closed",
        "send.rs",
        """        if self.error.is_some() || !self.streams.contains_key(&id) {
            self.stats.suppressed_resets += 1;
            return;
        }
        self.send_reset(id, code);""",
        """        if self.error.is_some() {
            return;
        }
        self.write_frame(&Frame::RstStream(frame::RstStream { stream_id: id, code }));
        self.close_stream(id, Ended::ResetByUs);""",
    ),
]

TESTS = ["stream_oracle", "state_matrix", "discarded_body"]


def caught(test):
    r = subprocess.run(
        ["cargo", "test", "-q", "-p", "h2kit-proto", "--test", test],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return r.returncode != 0


def main():
    survivors = 0
    for name, *rest in MUTATIONS:
        edits = rest[0] if len(rest) == 1 else [tuple(rest)]
        originals = {file: (SRC / file).read_text() for file, _, _ in edits}
        mutated = dict(originals)
        missing = None
        for file, text, replacement in edits:
            if mutated[file].count(text) != 1:
                missing = file
                break
            mutated[file] = mutated[file].replace(text, replacement)
        if missing:
            print(f"SKIPPED (text not found once in {missing}): {name}")
            survivors += 1
            continue
        try:
            for file, text in mutated.items():
                (SRC / file).write_text(text)
            by = [t for t in TESTS if caught(t)]
        finally:
            for file, text in originals.items():
                (SRC / file).write_text(text)
        print(f"{'caught by ' + ', '.join(by) if by else 'SURVIVED'}: {name}")
        survivors += not by
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
