//! Per-sender pacing.
//!
//! Carriers limit each sending number to a number of message *segments* per second (MPS).
//! We pace with a virtual schedule (the "theoretical arrival time" of GCRA with zero burst
//! tolerance): each message gets a slot no earlier than the previous message's slot plus
//! the time its segments take at the configured rate. Zero burst tolerance is what makes the
//! pacing honest: in any one-second window a number never sends more than `mps` segments
//! plus the tail of the one message that straddles the window edge.
//!
//! Times are in microseconds so that rates such as 3 MPS (333.33 ms per segment) do not
//! drift through rounding.

/// Schedules sends for one sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacer {
    /// The earliest instant (epoch µs) the next segment may go out.
    pub next_free_us: i64,
}

impl Pacer {
    pub fn new(next_free_us: i64) -> Self {
        Self { next_free_us }
    }

    /// Time one message of `segments` occupies at `mps` segments per second.
    pub fn cost_us(segments: u32, mps: f64) -> i64 {
        let mps = if mps.is_finite() && mps > 0.0 {
            mps
        } else {
            1.0
        };
        (f64::from(segments.max(1)) * 1_000_000.0 / mps).round() as i64
    }

    /// Reserves a slot for a message at or after `now_us` and returns the slot (epoch µs).
    pub fn reserve(&mut self, now_us: i64, segments: u32, mps: f64) -> i64 {
        let slot = self.next_free_us.max(now_us);
        self.next_free_us = slot + Self::cost_us(segments, mps);
        slot
    }

    /// The slot the next reservation would get, without taking it.
    pub fn peek(&self, now_us: i64) -> i64 {
        self.next_free_us.max(now_us)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn spaces_messages_by_their_segments() {
        let mut p = Pacer::new(0);
        assert_eq!(p.reserve(1_000_000, 1, 10.0), 1_000_000);
        assert_eq!(p.reserve(1_000_000, 3, 10.0), 1_100_000);
        assert_eq!(p.reserve(1_000_000, 1, 10.0), 1_400_000);
        // An idle sender does not bank credit: a late request goes at "now".
        assert_eq!(p.reserve(5_000_000, 1, 10.0), 5_000_000);
    }

    proptest! {
        /// In every one-second window the segments started never exceed mps plus one
        /// message's worth (the message straddling the window's start).
        #[test]
        fn never_exceeds_rate_in_any_window(
            mps in 1u32..50,
            msgs in proptest::collection::vec((0i64..3_000_000, 1u32..5), 1..200),
        ) {
            let mut p = Pacer::new(0);
            let mut now = 0;
            let mut sent: Vec<(i64, u32)> = Vec::new();
            for (gap, segs) in msgs {
                now += gap / 50;
                sent.push((p.reserve(now, segs, f64::from(mps)), segs));
            }
            for &(start, _) in &sent {
                let in_window: u32 = sent
                    .iter()
                    .filter(|(t, _)| *t >= start && *t < start + 1_000_000)
                    .map(|(_, s)| s)
                    .sum();
                prop_assert!(in_window <= mps + 4, "window at {start}: {in_window} > {mps}");
            }
        }

        #[test]
        fn slots_are_monotonic(msgs in proptest::collection::vec((0i64..1_000_000, 1u32..10), 1..100)) {
            let mut p = Pacer::new(0);
            let mut last = i64::MIN;
            let mut now = 0;
            for (gap, segs) in msgs {
                now += gap;
                let slot = p.reserve(now, segs, 7.0);
                prop_assert!(slot >= last && slot >= now);
                last = slot;
            }
        }
    }
}
