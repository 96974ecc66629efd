//! Flow-control windows (RFC 9113 §5.2, §6.9).

use crate::frame::MAX_WINDOW_SIZE;

/// How much we may still send: the peer's window for us. Signed, because a SETTINGS change of
/// SETTINGS_INITIAL_WINDOW_SIZE can make a stream window negative (§6.9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendWindow(i64);

/// A window would exceed 2^31-1 (§6.9.1): a FLOW_CONTROL_ERROR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowOverflow;

impl SendWindow {
    /// A window of `size` bytes.
    pub fn new(size: u32) -> SendWindow {
        SendWindow(size as i64)
    }

    /// Bytes that may be sent now.
    pub fn available(&self) -> usize {
        self.0.max(0) as usize
    }

    /// The window, which may be negative after SETTINGS lowered it (§6.9.2).
    pub fn value(&self) -> i64 {
        self.0
    }

    /// `n` bytes were sent.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.available());
        self.0 -= n as i64;
    }

    /// A WINDOW_UPDATE increment (§6.9.1).
    pub fn increase(&mut self, n: u32) -> Result<(), WindowOverflow> {
        self.adjust(n as i64)
    }

    /// A change of SETTINGS_INITIAL_WINDOW_SIZE applied to an existing stream (§6.9.2).
    pub fn adjust(&mut self, delta: i64) -> Result<(), WindowOverflow> {
        let v = self.0 + delta;
        if v > MAX_WINDOW_SIZE as i64 {
            return Err(WindowOverflow);
        }
        self.0 = v;
        Ok(())
    }
}

/// What the peer may still send us, and the consumed bytes not yet returned to it.
///
/// Window is returned in batches: only when the application has consumed at least half of the
/// target window do we send a WINDOW_UPDATE, so a stream of small DATA frames costs one update
/// per half-window rather than one per frame, while the sender never stalls as long as the
/// application keeps up (the other half is still open when the update arrives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvWindow {
    /// Advertised and not yet used by the peer.
    window: i64,
    /// The window we aim to keep open.
    target: i64,
    /// Received and consumed, not yet returned.
    unreleased: i64,
}

/// The peer sent more than its window allowed: a FLOW_CONTROL_ERROR (§6.9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowExceeded;

impl RecvWindow {
    /// `advertised`: the window the peer currently believes it has; `target`: the one we keep.
    pub fn new(advertised: u32, target: u32) -> RecvWindow {
        RecvWindow {
            window: advertised as i64,
            target: target as i64,
            unreleased: 0,
        }
    }

    /// The window the peer has now.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// Bytes the peer sent, counted against the window (padding included).
    pub fn recv(&mut self, n: u32) -> Result<(), WindowExceeded> {
        if n as i64 > self.window {
            return Err(WindowExceeded);
        }
        self.window -= n as i64;
        Ok(())
    }

    /// The application consumed `n` bytes (or they were discarded): returns the WINDOW_UPDATE
    /// increment to send now, if the batch is large enough.
    pub fn release(&mut self, n: u32) -> Option<u32> {
        self.unreleased += n as i64;
        // `window + unreleased` never exceeds the target (received bytes move from `window` to
        // `unreleased`, updates move them back), so returning everything stays within it.
        if self.unreleased < (self.target / 2).max(1) {
            return None;
        }
        self.return_unreleased()
    }

    /// Like [`release`](Self::release), without the batching: `n` more bytes were consumed,
    /// and everything consumed goes back now, however little (credit nothing else will use).
    pub fn release_now(&mut self, n: u32) -> Option<u32> {
        self.unreleased += n as i64;
        self.return_unreleased()
    }

    fn return_unreleased(&mut self) -> Option<u32> {
        let inc = self.unreleased.min(MAX_WINDOW_SIZE as i64 - self.window);
        if inc <= 0 {
            return None;
        }
        self.window += inc;
        self.unreleased -= inc;
        Some(inc as u32)
    }

    /// Raise the window to `target` at once (the connection window after the preface): returns
    /// the increment to advertise.
    pub fn grow_to_target(&mut self) -> Option<u32> {
        let inc = self.target - self.window - self.unreleased;
        if inc <= 0 {
            return None;
        }
        self.window += inc;
        Some(inc as u32)
    }

    /// SETTINGS_INITIAL_WINDOW_SIZE changed (§6.9.2): both the window and the target move.
    pub fn adjust(&mut self, delta: i64) {
        self.window += delta;
        self.target += delta;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_window_goes_negative_and_overflows_at_2_31() {
        let mut w = SendWindow::new(100);
        w.consume(100);
        w.adjust(-50).unwrap();
        assert_eq!(w.available(), 0);
        assert_eq!(w.value(), -50);
        w.increase(60).unwrap();
        assert_eq!(w.available(), 10);
        let mut w = SendWindow::new(MAX_WINDOW_SIZE);
        assert_eq!(w.increase(1), Err(WindowOverflow));
    }

    #[test]
    fn recv_window_rejects_excess_and_batches_updates() {
        let mut w = RecvWindow::new(1000, 1000);
        assert_eq!(w.recv(1001), Err(WindowExceeded));
        for _ in 0..4 {
            w.recv(100).unwrap();
            assert_eq!(
                w.release(100),
                None,
                "no update before half the window is consumed"
            );
        }
        w.recv(100).unwrap();
        // 500 consumed: one update returns all of it.
        assert_eq!(w.release(100), Some(500));
        assert_eq!(w.window(), 1000);
        assert_eq!(w.recv(1000), Ok(()));
    }

    #[test]
    fn recv_window_returns_a_remainder_below_the_batch_on_request() {
        let mut w = RecvWindow::new(1000, 1000);
        w.recv(400).unwrap();
        assert_eq!(w.release(300), None, "below half the window: batched");
        assert_eq!(
            w.release_now(100),
            Some(400),
            "what was batched, and the rest"
        );
        assert_eq!(w.release_now(0), None, "nothing left to return");
        assert_eq!(w.window(), 1000);
    }

    #[test]
    fn recv_window_grows_to_target() {
        let mut w = RecvWindow::new(65_535, 1 << 24);
        assert_eq!(w.grow_to_target(), Some((1 << 24) - 65_535));
        assert_eq!(w.grow_to_target(), None);
    }
}
