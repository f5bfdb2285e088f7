//! Finding a message Twilio may already have, before sending it again.
//!
//! Twilio's Messages API takes no idempotency key, and its Message resource echoes nothing
//! of ours that its list can filter on: the Parley id we send travels in the `StatusCallback`
//! URL, which Twilio uses but does not return. So after an attempt whose outcome is unknown
//! (a timeout, a broken connection, a 5xx) the next attempt:
//! 1. trusts a status callback that already bound a Twilio id to the message (it arrived
//!    through that URL, so it names our message exactly);
//! 2. otherwise lists `GET …/Messages.json?To=…&From=…` (`To` only behind a messaging
//!    service, whose pool picks the sender; `DateSent` is not used because a message still
//!    queued at Twilio has none) and takes the oldest outbound message that went to the same
//!    address from the same sender or service, was created no earlier than the Parley
//!    message (less `twilio.reconcile_skew_secs`), is not already the Twilio id of another
//!    Parley message, and, for a plain-text send, has the same body.
//!
//! A conversation has at most one message in flight (dispatch takes only a conversation's
//! head), and a pair has one active conversation per channel, so the criteria pick out one
//! message unless someone else sent the same text to the same user from the same number in
//! that window; then Parley records that message's id instead of sending a copy.

use serde::Deserialize;

use crate::carriers::OutboundSms;

#[derive(Debug, Clone, Deserialize)]
pub struct Listed {
    pub sid: String,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub date_created: Option<String>,
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    pub messages: Vec<Listed>,
}

/// The list query for the message's recipient (and sender, when it sends as itself).
pub fn query(m: &OutboundSms, page_size: u32) -> Vec<(&'static str, String)> {
    let mut q = vec![("To", super::request::address(&m.channel, &m.to))];
    if m.messaging_service_sid.is_none() {
        q.push(("From", super::request::address(&m.channel, &m.from)));
    }
    q.push(("PageSize", page_size.to_string()));
    q
}

/// The listed message that is this send's lost copy, if any. `known` holds listed ids that
/// already belong to other Parley messages.
pub fn pick<'a>(
    listed: &'a [Listed],
    m: &OutboundSms,
    known: &[String],
    skew_ms: i64,
) -> Option<&'a Listed> {
    let to = super::request::address(&m.channel, &m.to);
    let from = super::request::address(&m.channel, &m.from);
    let since = m.created_at - skew_ms;
    listed
        .iter()
        .filter(|l| {
            l.direction
                .as_deref()
                .is_some_and(|d| d.starts_with("outbound"))
        })
        .filter(|l| l.to.as_deref() == Some(to.as_str()))
        .filter(|l| match &m.messaging_service_sid {
            Some(service) => l.messaging_service_sid.as_deref() == Some(service.as_str()),
            None => l.from.as_deref() == Some(from.as_str()),
        })
        .filter(|l| !known.contains(&l.sid))
        .filter(|l| m.content_sid.is_some() || l.body.as_deref() == Some(m.body.as_str()))
        .filter_map(|l| Some((rfc2822_ms(l.date_created.as_deref()?)?, l)))
        .filter(|(created, _)| *created >= since)
        .min_by_key(|(created, _)| *created)
        .map(|(_, l)| l)
}

/// Parses Twilio's `date_created` (`Thu, 30 Jul 2015 20:12:31 +0000`) to epoch ms.
pub fn rfc2822_ms(s: &str) -> Option<i64> {
    let mut parts = s.split_whitespace();
    let _weekday = parts.next()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let zone = parts.next().unwrap_or("+0000");
    let offset_min = match zone {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        z if z.len() == 5 => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (z[1..3].parse::<i64>().ok()? * 60 + z[3..5].parse::<i64>().ok()?)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(((days * 86_400 + h * 3_600 + mi * 60 + sec) - offset_min * 60) * 1_000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> OutboundSms {
        OutboundSms {
            message_id: 7,
            org_id: "o".into(),
            from: "+15550100000".into(),
            to: "+15551230000".into(),
            body: "hello".into(),
            channel: "sms".into(),
            segments: 1,
            created_at: rfc2822_ms("Thu, 01 Jan 2026 00:00:00 +0000").unwrap(),
            ..OutboundSms::default()
        }
    }

    fn listed(sid: &str, body: &str, date: &str) -> Listed {
        Listed {
            sid: sid.into(),
            to: Some("+15551230000".into()),
            from: Some("+15550100000".into()),
            body: Some(body.into()),
            direction: Some("outbound-api".into()),
            date_created: Some(date.into()),
            messaging_service_sid: None,
        }
    }

    #[test]
    fn parses_twilio_dates() {
        assert_eq!(rfc2822_ms("Thu, 01 Jan 1970 00:00:01 +0000"), Some(1_000));
        assert_eq!(
            rfc2822_ms("Thu, 30 Jul 2015 20:12:31 +0000"),
            Some(1_438_287_151_000)
        );
        assert_eq!(
            rfc2822_ms("Thu, 30 Jul 2015 22:12:31 +0200"),
            Some(1_438_287_151_000)
        );
        assert_eq!(rfc2822_ms("yesterday"), None);
    }

    #[test]
    fn picks_the_oldest_unknown_copy_with_the_same_body() {
        let m = msg();
        let l = vec![
            listed("SM3", "hello", "Thu, 01 Jan 2026 00:00:09 +0000"),
            listed("SM2", "hello", "Thu, 01 Jan 2026 00:00:05 +0000"),
            listed("SM1", "hello", "Wed, 31 Dec 2025 23:00:00 +0000"), // before it was queued
            listed("SM0", "other", "Thu, 01 Jan 2026 00:00:01 +0000"),
        ];
        assert_eq!(pick(&l, &m, &[], 60_000).unwrap().sid, "SM2");
        assert_eq!(pick(&l, &m, &["SM2".into()], 60_000).unwrap().sid, "SM3");
        assert!(pick(&l, &m, &["SM2".into(), "SM3".into()], 60_000).is_none());
        // Inbound messages and other senders never match.
        let mut inbound = listed("SM9", "hello", "Thu, 01 Jan 2026 00:00:02 +0000");
        inbound.direction = Some("inbound".into());
        let mut other = listed("SM8", "hello", "Thu, 01 Jan 2026 00:00:02 +0000");
        other.from = Some("+15550100001".into());
        assert!(pick(&[inbound, other], &m, &[], 60_000).is_none());
    }

    #[test]
    fn behind_a_service_the_service_must_match() {
        let mut m = msg();
        m.messaging_service_sid = Some("MG1".into());
        let mut l = listed("SM1", "hello", "Thu, 01 Jan 2026 00:00:02 +0000");
        l.from = Some("+15559999999".into());
        assert!(pick(std::slice::from_ref(&l), &m, &[], 0).is_none());
        l.messaging_service_sid = Some("MG1".into());
        assert_eq!(pick(&[l], &m, &[], 0).unwrap().sid, "SM1");
        assert_eq!(
            query(&m, 20),
            vec![("To", "+15551230000".into()), ("PageSize", "20".into())]
        );
    }
}
