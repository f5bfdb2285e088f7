//! Wake-ups for the workers, within a node and across nodes.
//!
//! A handler that queues work pings the matching [`Wake`] after its transaction commits.
//! Locally that is a [`Notify`]; on PostgreSQL the ping is also published with `NOTIFY`, so
//! the other nodes' workers claim the work too instead of waiting for their next poll (on
//! a busy node, another node's idle dispatcher starts sending at once). Pings are
//! coalesced: at most one `NOTIFY` is in flight per node, carrying every kind raised since
//! the last, and at most one is sent per [`PUBLISH_GAP`]. Every worker still polls, so a
//! lost notification (a dropped listener connection, a database restart) costs latency,
//! never work.

use std::{
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::Duration,
};

use parley_store::Store;
use tokio::sync::{futures::Notified, Notify};
use tokio_util::sync::CancellationToken;

/// Lower bound between two `NOTIFY`s from one node: bounds their rate at 200/s under any
/// send load while adding at most 5 ms to a cross-node wake.
const PUBLISH_GAP: Duration = Duration::from_millis(5);
/// How long to wait before listening again after the database refused the listener.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// What a wake-up is for. The discriminants are bits of the published payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum WakeKind {
    Dispatch = 1,
    Turns = 2,
    Batches = 4,
}

/// One worker's wake-up. `notify_one` and `notified` mirror [`Notify`]'s.
pub struct Wake {
    kind: WakeKind,
    local: Notify,
    bus: Arc<Bus>,
}

impl Wake {
    /// Wakes this node's worker now, and the other nodes' once the ping is published.
    pub fn notify_one(&self) {
        self.local.notify_one();
        self.bus.raise(self.kind);
    }

    pub fn notified(&self) -> Notified<'_> {
        self.local.notified()
    }
}

/// Kinds raised on this node and not yet published.
struct Bus {
    pending: AtomicU8,
    raised: Notify,
}

impl Bus {
    fn raise(&self, kind: WakeKind) {
        self.pending.fetch_or(kind as u8, Ordering::Relaxed);
        self.raised.notify_one();
    }
}

/// This node's wake-ups.
pub struct Wakeups {
    pub dispatch: Arc<Wake>,
    pub turns: Arc<Wake>,
    pub batches: Arc<Wake>,
    bus: Arc<Bus>,
    /// This node's name in payloads, so it can ignore its own.
    node: String,
}

impl Wakeups {
    pub fn new(node: &str) -> Self {
        let bus = Arc::new(Bus {
            pending: AtomicU8::new(0),
            raised: Notify::new(),
        });
        let wake = |kind| {
            Arc::new(Wake {
                kind,
                local: Notify::new(),
                bus: bus.clone(),
            })
        };
        Self {
            dispatch: wake(WakeKind::Dispatch),
            turns: wake(WakeKind::Turns),
            batches: wake(WakeKind::Batches),
            bus: bus.clone(),
            // Payloads are `node:bits`; a node name never holds the separator.
            node: node.replace(':', "_"),
        }
    }

    fn wake_locally(&self, bits: u8) {
        for wake in [&self.dispatch, &self.turns, &self.batches] {
            if bits & wake.kind as u8 != 0 {
                wake.local.notify_one();
            }
        }
    }

    /// What a received payload asks of this node: the kinds to wake, or nothing for its own
    /// pings and for payloads it cannot read.
    fn bits_for_me(&self, payload: &str) -> u8 {
        match payload.rsplit_once(':') {
            Some((node, bits)) if node != self.node => bits.parse().unwrap_or(0),
            _ => 0,
        }
    }

    /// Starts publishing and listening, on PostgreSQL; on SQLite (one node) there is nothing
    /// to do. Returns once the listener is subscribed, so that work queued by another node
    /// after this returns is heard. A database that cannot be reached yet is not an error:
    /// the listener keeps trying in the background.
    pub async fn start(
        self: &Arc<Self>,
        store: Store,
        shutdown: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        if store.dialect() != parley_store::Dialect::Postgres {
            return Vec::new();
        }
        let listener = match store.wake_listener().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not listen for other nodes' wake-ups yet; retrying");
                None
            }
        };
        let listen = tokio::spawn(
            self.clone()
                .listen(store.clone(), listener, shutdown.clone()),
        );
        let publish = tokio::spawn(self.clone().publish(store, shutdown));
        vec![listen, publish]
    }

    async fn listen(
        self: Arc<Self>,
        store: Store,
        mut listener: Option<parley_store::WakeListener>,
        shutdown: CancellationToken,
    ) {
        while !shutdown.is_cancelled() {
            let Some(l) = listener.as_mut() else {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(RELISTEN_AFTER) => {}
                }
                listener = match store.wake_listener().await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::debug!(error = %e, "wake-up listener not connected yet");
                        None
                    }
                };
                continue;
            };
            let got = tokio::select! {
                _ = shutdown.cancelled() => break,
                got = l.recv() => got,
            };
            match got {
                Ok(Some(payload)) => {
                    let bits = self.bits_for_me(&payload);
                    self.wake_locally(bits);
                }
                // The connection dropped and pings may have been missed: look at everything.
                Ok(None) => self.wake_locally(u8::MAX),
                Err(e) => {
                    tracing::warn!(error = %e, "wake-up listener lost its connection; reconnecting");
                    self.wake_locally(u8::MAX);
                    listener = None;
                }
            }
        }
    }

    async fn publish(self: Arc<Self>, store: Store, shutdown: CancellationToken) {
        // Learned on the first ping, when the database answers.
        let mut channel: Option<String> = None;
        while !shutdown.is_cancelled() {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.bus.raised.notified() => {}
            }
            let bits = self.bus.pending.swap(0, Ordering::Relaxed);
            if bits == 0 {
                continue;
            }
            if channel.is_none() {
                channel = store.wake_channel().await.ok().flatten();
            }
            // Without a database there is no one to tell; the pings raised meanwhile were
            // only hints.
            let Some(channel) = channel.as_deref() else {
                continue;
            };
            let payload = format!("{}:{bits}", self.node);
            if let Err(e) = store.publish_wake(channel, &payload).await {
                tracing::debug!(error = %e, "could not publish a wake-up; other nodes will poll");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(PUBLISH_GAP) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_from_this_node_or_unreadable_wake_nothing() {
        let w = Wakeups::new("host-a:1");
        assert_eq!(w.bits_for_me("host-a_1:3"), 0);
        assert_eq!(w.bits_for_me("host-b:3"), 3);
        assert_eq!(w.bits_for_me("host-b:x"), 0);
        assert_eq!(w.bits_for_me("garbage"), 0);
    }

    #[test]
    fn raised_kinds_accumulate_until_published() {
        let w = Wakeups::new("n");
        w.dispatch.notify_one();
        w.batches.notify_one();
        w.dispatch.notify_one();
        assert_eq!(w.bus.pending.swap(0, Ordering::Relaxed), 5);
        assert_eq!(w.bus.pending.load(Ordering::Relaxed), 0);
    }
}
