//! The pool's checkout decisions, as plain functions of what the pool sees: which connection
//! takes a request, and what a request does when none can (hold back for a suspect
//! connection's PING answer, open a connection, or wait for a slot). `Pool::checkout` gathers
//! the views, applies the decision and waits; the tests below check each rule on its own.

use std::time::Duration;

/// One connection as the checkout sees it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ConnView {
    /// Not closed (no GOAWAY, not ended).
    pub usable: bool,
    /// Suspect: takes no new stream until it shows it is alive.
    pub suspect: bool,
    /// Streams open, queued and reserved on it.
    pub load: usize,
    /// Streams it may carry (the server's limit, or ours if lower).
    pub limit: usize,
    /// The server's SETTINGS have arrived (until then `limit` is an assumption).
    pub settled: bool,
    /// The connection a retry would rather avoid.
    pub excluded: bool,
    /// How long a suspect connection may still answer its PING (see `suspect_grace`).
    pub grace_left: Option<Duration>,
}

/// The outcome of [`pick`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pick {
    /// The connection to reserve a slot on.
    pub conn: Option<usize>,
    /// Closed connections are listed: prune them.
    pub prune: bool,
}

/// The least loaded healthy connection with room. The connection a retry avoids is taken only
/// when no other has room and no new one may open (a refused stream may be retried on the same
/// connection). Suspect connections count neither as candidates nor against `max_conns`.
pub(crate) fn pick(conns: impl IntoIterator<Item = ConnView>, max_conns: usize) -> Pick {
    let mut prune = false;
    let mut best: Option<(usize, usize)> = None;
    let mut fallback = None;
    let mut healthy = 0;
    for (i, c) in conns.into_iter().enumerate() {
        if !c.usable {
            prune = true;
            continue;
        }
        if c.suspect {
            continue;
        }
        healthy += 1;
        let has_room = c.load < c.limit;
        if c.excluded {
            if has_room {
                fallback = Some(i);
            }
            continue;
        }
        if has_room && best.is_none_or(|(_, load)| c.load < load) {
            best = Some((i, c.load));
        }
    }
    let may_open = healthy < max_conns.max(1);
    let conn = match best {
        Some((i, _)) => Some(i),
        None if !may_open => fallback,
        None => None,
    };
    Pick { conn, prune }
}

/// What a request does when [`pick`] found no connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A suspect connection has sent its PING, and a live peer answers within a few round
    /// trips (a slow server is not a dead one): hold back this long before opening a
    /// connection in its place.
    Hold(Duration),
    /// Open a connection (after claiming the origin's one setup).
    Connect,
    /// Wait for a slot: every connection is full, or one still awaits its SETTINGS (its real
    /// limit may well have room), or no more may open.
    Wait,
}

/// The next step of a request that found no room; `deadline_left`: the time its total
/// deadline leaves.
pub(crate) fn next_step(
    conns: &[ConnView],
    max_conns: usize,
    deadline_left: Option<Duration>,
) -> Step {
    let open = conns.iter().filter(|c| !c.suspect).count();
    let unsettled = conns.iter().any(|c| c.usable && !c.suspect && !c.settled);
    if unsettled {
        return Step::Wait;
    }
    let grace = conns
        .iter()
        .filter(|c| c.usable)
        .filter_map(|c| c.grace_left)
        .min();
    // A request whose deadline would expire during the grace does not hold back: it needs a
    // connection that works now.
    if let Some(g) = grace.filter(|g| deadline_left.is_none_or(|left| left > *g * 2)) {
        return Step::Hold(g);
    }
    if open < max_conns.max(1) {
        Step::Connect
    } else {
        Step::Wait
    }
}

/// After GOAWAY(ENHANCE_YOUR_CALM): the pause before the origin's next connection, doubling
/// from 100 ms to at most 5 s while the server keeps asking for calm.
pub(crate) fn calm_backoff(previous: Duration) -> Duration {
    (previous * 2).clamp(Duration::from_millis(100), Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(load: usize, limit: usize) -> ConnView {
        ConnView {
            usable: true,
            load,
            limit,
            settled: true,
            ..ConnView::default()
        }
    }

    #[test]
    fn picks_the_least_loaded_connection_with_room() {
        let p = pick([conn(5, 10), conn(2, 10), conn(3, 10)], 4);
        assert_eq!(
            p,
            Pick {
                conn: Some(1),
                prune: false
            }
        );
        let full = pick([conn(10, 10), conn(1, 1)], 2);
        assert_eq!(full.conn, None);
    }

    #[test]
    fn closed_connections_are_skipped_and_pruned() {
        let closed = ConnView {
            usable: false,
            ..conn(0, 10)
        };
        let p = pick([closed, conn(9, 10)], 4);
        assert_eq!(
            p,
            Pick {
                conn: Some(1),
                prune: true
            }
        );
    }

    #[test]
    fn suspect_connections_take_nothing_and_do_not_count_against_the_limit() {
        let suspect = ConnView {
            suspect: true,
            ..conn(0, 100)
        };
        assert_eq!(pick([suspect], 1).conn, None);
        // With the only connection suspect, a new one may open although the limit is 1.
        assert_eq!(next_step(&[suspect], 1, None), Step::Connect);
    }

    #[test]
    fn a_retry_avoids_its_connection_unless_there_is_no_other_way() {
        let avoided = ConnView {
            excluded: true,
            ..conn(0, 10)
        };
        // Another connection may open: the retry does not take the avoided one.
        assert_eq!(pick([avoided], 2).conn, None);
        // Another has room: that one.
        assert_eq!(pick([avoided, conn(8, 10)], 2).conn, Some(1));
        // No other, and none may open: the avoided one after all.
        assert_eq!(pick([avoided], 1).conn, Some(0));
    }

    #[test]
    fn a_connection_awaiting_its_settings_is_waited_for_not_doubled() {
        // One stream assumed until the server's SETTINGS say more.
        let unsettled = ConnView {
            settled: false,
            ..conn(1, 1)
        };
        assert_eq!(pick([unsettled], 4).conn, None);
        assert_eq!(next_step(&[unsettled], 4, None), Step::Wait);
    }

    #[test]
    fn a_suspect_connection_gets_its_grace_unless_the_deadline_is_nearer() {
        let g = Duration::from_millis(8);
        let suspect = ConnView {
            suspect: true,
            grace_left: Some(g),
            ..conn(1, 100)
        };
        assert_eq!(next_step(&[suspect], 4, None), Step::Hold(g));
        assert_eq!(
            next_step(&[suspect], 4, Some(Duration::from_millis(100))),
            Step::Hold(g)
        );
        // The deadline would expire during the grace: open a connection that works now.
        assert_eq!(
            next_step(&[suspect], 4, Some(Duration::from_millis(10))),
            Step::Connect
        );
        // The grace over: replaced at once.
        let over = ConnView {
            grace_left: None,
            ..suspect
        };
        assert_eq!(next_step(&[over], 4, None), Step::Connect);
    }

    #[test]
    fn at_the_connection_limit_requests_wait_for_a_slot() {
        assert_eq!(
            next_step(&[conn(10, 10), conn(10, 10)], 2, None),
            Step::Wait
        );
        assert_eq!(next_step(&[conn(10, 10)], 2, None), Step::Connect);
        // Zero means one.
        assert_eq!(next_step(&[], 0, None), Step::Connect);
        assert_eq!(next_step(&[conn(1, 1)], 0, None), Step::Wait);
    }

    #[test]
    fn the_calm_backoff_doubles_within_bounds() {
        let mut b = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..8 {
            b = calm_backoff(b);
            seen.push(b.as_millis());
        }
        assert_eq!(seen, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    }
}
