//! The proxy's counts over all its connections.

use h2kit_proto::watch::{AnomalyKind, Side, SideCounts, Watcher};

use std::sync::atomic::Ordering::Relaxed;

use super::{Shared, Totals};

/// What passed through the proxy, by direction, and what it flagged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyReport {
    /// Connections accepted, and how many are still open.
    pub connections: u64,
    /// See `connections`.
    pub open: u64,
    /// Connections that did not start with the HTTP/2 preface (not traced).
    pub not_h2: u64,
    /// Connections whose upstream could not be reached.
    pub upstream_failures: u64,
    /// Faults applied.
    pub unplugged: u64,
    /// Connections reset on purpose (TCP RST).
    pub resets: u64,
    /// Connections closed on purpose (FIN).
    pub closes: u64,
    /// Bytes forwarded from the clients.
    pub bytes_client_to_server: u64,
    /// Bytes forwarded from the servers.
    pub bytes_server_to_client: u64,
    /// Frames the clients sent, and frames the servers sent (traced connections).
    pub client: SideCounts,
    /// See `client`.
    pub server: SideCounts,
    /// Anomalies by kind (every kind, zeros included).
    pub anomalies: Vec<(AnomalyKind, u64)>,
}

impl ProxyReport {
    /// How many anomalies of `kind` were seen.
    pub fn anomaly(&self, kind: AnomalyKind) -> u64 {
        self.anomalies
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// Anomalies of every kind.
    pub fn anomalies_total(&self) -> u64 {
        self.anomalies.iter().map(|(_, n)| n).sum()
    }
}

pub(super) fn add_watcher(t: &mut Totals, w: &Watcher) {
    t.sides[0].merge(w.counts(Side::Client));
    t.sides[1].merge(w.counts(Side::Server));
    for (i, (_, n)) in w.anomalies().enumerate() {
        t.anomalies[i] += n;
    }
}

pub(super) fn build(shared: &Shared) -> ProxyReport {
    // Finished connections are in the totals; open ones are added from their watchers.
    let conns: Vec<_> = shared.conns.lock().unwrap().values().cloned().collect();
    let mut t = shared.totals.lock().unwrap().clone();
    for c in &conns {
        if let Some(w) = &c.watcher {
            add_watcher(&mut t, &w.lock().unwrap());
        }
    }
    let [client, server] = t.sides;
    ProxyReport {
        connections: t.connections,
        open: conns.len() as u64,
        not_h2: t.not_h2,
        upstream_failures: t.upstream_failures,
        unplugged: t.unplugged,
        resets: t.resets,
        closes: t.closes,
        bytes_client_to_server: shared.bytes[0].load(Relaxed),
        bytes_server_to_client: shared.bytes[1].load(Relaxed),
        client,
        server,
        anomalies: AnomalyKind::ALL
            .iter()
            .zip(t.anomalies)
            .map(|(k, n)| (*k, n))
            .collect(),
    }
}
