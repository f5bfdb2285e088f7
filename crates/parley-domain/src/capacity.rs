//! A sender's capacity over hours and days: its daily cap, and how long its queue takes to
//! drain.
//!
//! The [`Pacer`](crate::pacing::Pacer) spaces sends second by second. Two limits work on a
//! longer scale:
//! - a **daily cap** (T-Mobile caps a brand's SMS segments per day; unverified toll-free
//!   numbers have daily volume limits). Days are counted from the Unix epoch, shifted by an
//!   offset so an operator can match the carrier's midnight (T-Mobile resets on US Pacific
//!   time, for example).
//! - the **backlog horizon**: Twilio keeps a message in its queue for at most 10 hours and
//!   refuses (21611) or drops (30001) what would wait longer. Parley refuses new work up front
//!   instead, so a client learns at send time rather than hours later.

const DAY_MS: i64 = 86_400_000;
const DAY_US: i64 = DAY_MS * 1000;

/// Day boundaries shifted by `offset_ms` from UTC midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayClock {
    /// Added to UTC before cutting into days: `-8 h` makes days start at 08:00 UTC.
    pub offset_ms: i64,
}

impl DayClock {
    /// The day `now_ms` falls in.
    pub fn day(&self, now_ms: i64) -> i64 {
        (now_ms + self.offset_ms).div_euclid(DAY_MS)
    }

    /// When day `day` starts (epoch ms).
    pub fn start_ms(&self, day: i64) -> i64 {
        day * DAY_MS - self.offset_ms
    }
}

/// What a sender (a number, or a messaging service's pool) has waiting, and how fast it drains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    /// The pacer's next free instant (epoch µs): slots already handed out end here.
    pub next_free_us: i64,
    /// Segments queued and not yet given a slot.
    pub queued_segments: i64,
    /// Segments per second.
    pub mps: f64,
    /// Most segments per day, if capped.
    pub daily_cap: Option<i64>,
    /// Segments already claimed on the current day.
    pub day_segments: i64,
    /// When the current day ends (epoch µs).
    pub day_end_us: i64,
}

impl Backlog {
    /// The instant (epoch µs) by which everything queued, plus `extra` segments, has gone out.
    pub fn drained_at_us(&self, now_us: i64, extra: i64) -> i64 {
        let per_segment = crate::pacing::Pacer::cost_us(1, self.mps) as f64;
        let start = self.next_free_us.max(now_us);
        let total = (self.queued_segments + extra).max(0);
        let by_rate = start + (total as f64 * per_segment).round() as i64;
        let Some(cap) = self.daily_cap.filter(|c| *c > 0) else {
            return by_rate;
        };
        let today_left = (cap - self.day_segments).max(0);
        if total <= today_left {
            return by_rate;
        }
        // Whatever does not fit today waits for later days, `cap` segments a day, each day's
        // share paced at the rate from that day's start.
        let overflow = total - today_left;
        let full_days = (overflow - 1) / cap;
        let last_day = overflow - full_days * cap;
        let last_start = self.day_end_us + full_days * DAY_US;
        by_rate.max(last_start + (last_day as f64 * per_segment).round() as i64)
    }

    /// How long (µs) the queue, plus `extra` segments, takes to drain from `now_us`.
    pub fn wait_us(&self, now_us: i64, extra: i64) -> i64 {
        (self.drained_at_us(now_us, extra) - now_us).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlog(queued: i64, mps: f64, cap: Option<i64>, used: i64) -> Backlog {
        Backlog {
            next_free_us: 0,
            queued_segments: queued,
            mps,
            daily_cap: cap,
            day_segments: used,
            day_end_us: 3_600_000_000, // one hour from t = 0
        }
    }

    #[test]
    fn days_follow_the_offset() {
        let utc = DayClock::default();
        assert_eq!((utc.day(DAY_MS - 1), utc.day(DAY_MS)), (0, 1));
        let pacific = DayClock {
            offset_ms: -8 * 3_600_000,
        };
        assert_eq!(pacific.day(DAY_MS + 7 * 3_600_000), 0);
        assert_eq!(pacific.day(DAY_MS + 8 * 3_600_000), 1);
        assert_eq!(pacific.start_ms(1), DAY_MS + 8 * 3_600_000);
    }

    #[test]
    fn uncapped_senders_drain_at_their_rate() {
        let b = backlog(1_000, 1.0, None, 0);
        assert_eq!(b.wait_us(0, 0), 1_000_000_000);
        assert_eq!(b.wait_us(0, 1), 1_001_000_000);
        // Slots already handed out count too.
        let b = Backlog {
            next_free_us: 5_000_000,
            ..backlog(10, 10.0, None, 0)
        };
        assert_eq!(b.wait_us(1_000_000, 0), 5_000_000);
    }

    #[test]
    fn a_spent_daily_cap_pushes_work_to_later_days() {
        // 100 a day, 90 used: 10 more today, then 100 per day from the next day's start.
        let b = backlog(250, 100.0, Some(100), 90);
        let day_end = 3_600_000_000;
        // 250 = 10 today + 100 tomorrow + 100 the day after + 40 on the third day.
        assert_eq!(b.drained_at_us(0, 0), day_end + 2 * DAY_US + 400_000);
        // Within today's allowance the cap changes nothing.
        assert_eq!(backlog(10, 100.0, Some(100), 90).wait_us(0, 0), 100_000);
    }
}
