//! The end-of-run checks, from the database (what Parley accepted) against the simulator's
//! and the receiver's own records (what reached the carrier and the customer).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgPool, Row};

use crate::support::{
    busiest_window, creates_by_message, max_in_window,
    receiver::Receiver,
    twilio::{Created, TwilioSim},
};

pub fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[derive(Debug, Clone)]
pub struct Outbound {
    pub id: i64,
    pub conversation_id: String,
    pub purpose: Option<String>,
    pub status: Option<String>,
    pub scheduled_at: Option<i64>,
    pub attempts: i64,
}

pub struct Report {
    /// Every outbound message in the database, by id.
    pub outbound: BTreeMap<i64, Outbound>,
    pub created: Vec<Created>,
}

impl Report {
    pub async fn read(db: &PgPool, sim: &TwilioSim) -> Self {
        let rows = sqlx::query(
            "SELECT id, conversation_id, purpose, status, scheduled_at, attempts FROM messages \
             WHERE direction = 'outbound' ORDER BY id",
        )
        .fetch_all(db)
        .await
        .unwrap();
        let outbound = rows
            .iter()
            .map(|r| {
                let m = Outbound {
                    id: r.get("id"),
                    conversation_id: r.get("conversation_id"),
                    purpose: r.get("purpose"),
                    status: r.get("status"),
                    scheduled_at: r.get("scheduled_at"),
                    attempts: r.get("attempts"),
                };
                (m.id, m)
            })
            .collect();
        Self {
            outbound,
            created: sim.created(),
        }
    }

    /// Every accepted send is stored; every stored outbound message was created at the
    /// carrier exactly once (nothing unknown was created) and ended `delivered`; and each
    /// conversation's messages reached the carrier in the order they were queued.
    pub fn exactly_once_in_order(&self, accepted: &BTreeSet<i64>) {
        let missing: Vec<_> = accepted
            .iter()
            .filter(|id| !self.outbound.contains_key(id))
            .collect();
        assert!(missing.is_empty(), "accepted but not stored: {missing:?}");
        let by = creates_by_message(&self.created);
        let twice: Vec<_> = by.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "created at the carrier more than once (id, times): {twice:?}"
        );
        let unknown: Vec<_> = by
            .keys()
            .filter(|id| !self.outbound.contains_key(id))
            .collect();
        assert!(
            unknown.is_empty(),
            "the carrier created messages Parley has no record of: {unknown:?}"
        );
        let never: Vec<_> = self
            .outbound
            .keys()
            .filter(|id| !by.contains_key(id))
            .collect();
        assert!(
            never.is_empty(),
            "stored but never reached the carrier: {never:?}"
        );
        let undelivered: Vec<_> = self
            .outbound
            .values()
            .filter(|m| m.status.as_deref() != Some("delivered"))
            .map(|m| (m.id, m.status.clone()))
            .collect();
        assert!(undelivered.is_empty(), "not delivered: {undelivered:?}");
        let mut last: BTreeMap<&str, i64> = BTreeMap::new();
        for c in &self.created {
            let conversation = self.outbound[&c.message_id].conversation_id.as_str();
            if let Some(prev) = last.insert(conversation, c.message_id) {
                assert!(
                    prev < c.message_id,
                    "conversation {conversation}: message {} reached the carrier after {prev}, \
                     which was queued later",
                    c.message_id
                );
            }
        }
    }

    /// No sender went more than `slack` over `mps` in any one-second window, by the
    /// carrier's own arrival times.
    pub fn rate_within(&self, mps: f64, slack: f64) {
        let mut by_from: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for c in &self.created {
            by_from.entry(c.from.as_str()).or_default().push(c.at_ms);
        }
        let limit = (mps * (1.0 + slack)).floor() as usize;
        for (from, times) in by_from {
            let peak = max_in_window(&times, 1000.0);
            if peak > limit {
                self.show_busiest_second(from);
            }
            eprintln!(
                "{from}: {} messages, at most {peak} in one second (limit {mps}, allowed {limit})",
                times.len()
            );
            assert!(
                peak <= limit,
                "{from} sent {peak} messages in one second; its limit is {mps}/s"
            );
        }
    }

    /// Prints the messages of `from`'s busiest second: when each reached the carrier
    /// against the slot Parley gave it, and its attempt count.
    fn show_busiest_second(&self, from: &str) {
        let mut mine: Vec<&Created> = self.created.iter().filter(|c| c.from == from).collect();
        mine.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        let times: Vec<f64> = mine.iter().map(|c| c.at_ms).collect();
        for c in &mine[busiest_window(&times, 1000.0)] {
            let m = &self.outbound[&c.message_id];
            eprintln!(
                "  message {} at {} (slot {:?}, {} ms late), attempts {}",
                c.message_id,
                c.at_epoch_ms,
                m.scheduled_at,
                c.at_epoch_ms - m.scheduled_at.unwrap_or(0),
                m.attempts
            );
        }
    }

    /// Every webhook event was accepted by the receiver at least once, and no event of a
    /// conversation was posted before every earlier event of it had been accepted.
    pub async fn webhooks_at_least_once_in_order(&self, db: &PgPool, hooks: &Receiver) {
        let events =
            sqlx::query("SELECT event_id, conversation_id, state FROM webhook_events ORDER BY id")
                .fetch_all(db)
                .await
                .unwrap();
        assert!(!events.is_empty(), "no webhook events at all");
        let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in &events {
            let state: String = e.get("state");
            let id: String = e.get("event_id");
            assert_eq!(state, "delivered", "webhook event {id}");
            order.entry(e.get("conversation_id")).or_default().push(id);
        }
        let received = hooks.received();
        let mut accepted: BTreeSet<&str> = BTreeSet::new();
        let mut posts = 0;
        for r in &received {
            let Some(events) = order.get(&r.conversation_id) else {
                panic!(
                    "a webhook for an unknown conversation {}",
                    r.conversation_id
                );
            };
            let at = events
                .iter()
                .position(|e| *e == r.event_id)
                .unwrap_or_else(|| panic!("unknown webhook event {}", r.event_id));
            for earlier in &events[..at] {
                assert!(
                    accepted.contains(earlier.as_str()),
                    "conversation {}: event {} was posted before the earlier event {earlier} had \
                     been delivered",
                    r.conversation_id,
                    r.event_id
                );
            }
            if r.accepted {
                accepted.insert(&r.event_id);
            }
            posts += 1;
        }
        let never: Vec<_> = order
            .values()
            .flatten()
            .filter(|e| !accepted.contains(e.as_str()))
            .collect();
        assert!(
            never.is_empty(),
            "webhook events never delivered: {never:?}"
        );
        eprintln!("{} webhook events delivered in {posts} posts", events.len());
    }

    /// Each of `users`' conversations got its send, one warning and one timeout message, in
    /// that order, and ended `timeout`; no timer is left.
    pub async fn timers_fired_once(&self, db: &PgPool, users: &BTreeSet<String>) {
        for user in users {
            let rows = sqlx::query(
                "SELECT c.id, c.ended_reason FROM conversations c WHERE c.user_number = $1",
            )
            .bind(user)
            .fetch_all(db)
            .await
            .unwrap();
            assert_eq!(rows.len(), 1, "{user}: one conversation");
            let id: String = rows[0].get("id");
            let reason: Option<String> = rows[0].get("ended_reason");
            let purposes: Vec<Option<&str>> = self
                .outbound
                .values()
                .filter(|m| m.conversation_id == id)
                .map(|m| m.purpose.as_deref())
                .collect();
            assert_eq!(
                purposes,
                [None, Some("warning"), Some("timeout")],
                "{user}: the send, one warning, one timeout"
            );
            assert_eq!(
                reason.as_deref(),
                Some("timeout"),
                "{user}'s conversation {id}"
            );
        }
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM conversation_timers")
            .fetch_one(db)
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "timers left");
    }

    /// Each of `users` had its inbound messages (`n` each, by carrier id) stored exactly once,
    /// and the conversation's last message is the agent's answer.
    pub async fn inbound_stored_once_and_answered(
        &self,
        db: &PgPool,
        users: &BTreeMap<String, usize>,
    ) {
        for (user, n) in users {
            let rows = sqlx::query(
                "SELECT m.direction, m.provider_sid FROM messages m JOIN conversations c \
                 ON c.id = m.conversation_id WHERE c.user_number = $1 ORDER BY m.id",
            )
            .bind(user)
            .fetch_all(db)
            .await
            .unwrap();
            let inbound: Vec<String> = rows
                .iter()
                .filter(|r| r.get::<String, _>("direction") == "inbound")
                .map(|r| {
                    r.get::<Option<String>, _>("provider_sid")
                        .unwrap_or_default()
                })
                .collect();
            let distinct: BTreeSet<&String> = inbound.iter().collect();
            assert_eq!(
                inbound.len(),
                *n,
                "{user}: inbound messages stored {inbound:?}"
            );
            assert_eq!(
                distinct.len(),
                *n,
                "{user}: an inbound message stored twice"
            );
            let last: String = rows.last().unwrap().get("direction");
            assert_eq!(
                last, "outbound",
                "{user}: the last inbound message got no answer"
            );
        }
    }
}
