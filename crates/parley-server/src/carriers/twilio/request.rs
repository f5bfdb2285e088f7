//! The body of `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` for one message.
//!
//! Field for field what twilio-python 9.13.0's `client.messages.create(...)` sends for the
//! same message (checked against `tests/data/twilio/wire.json`, which that library produced):
//! `To`, then `From` or `MessagingServiceSid`, then `Body`, or `ContentSid` and
//! `ContentVariables` for a template, and `StatusCallback`. A template send carries no
//! `Body`: Twilio renders the template, and the stored text is only Parley's copy of it.

use super::config::Account;
use crate::carriers::OutboundSms;

/// `whatsapp:+1555…` on the WhatsApp channel, the bare number otherwise.
pub fn address(channel: &str, number: &str) -> String {
    if channel == "whatsapp" {
        format!("whatsapp:{number}")
    } else {
        number.to_owned()
    }
}

/// The number behind an address Twilio sent us (`whatsapp:+1555…` → `+1555…`), and whether
/// it was a WhatsApp address.
pub fn strip_address(addr: &str) -> (&str, bool) {
    match addr.strip_prefix("whatsapp:") {
        Some(n) => (n, true),
        None => (addr, false),
    }
}

/// Where Twilio reports this message's statuses. It carries Parley's message id, so a
/// callback finds its message even when the send's answer (with Twilio's id) was lost.
pub fn status_callback(public_base_url: &str, message_id: i64) -> String {
    format!(
        "{}/v1/carriers/twilio/status?message_id={message_id}",
        public_base_url.trim_end_matches('/')
    )
}

/// Template variables as Twilio wants them: a JSON object of strings. Parley accepts numbers
/// and booleans too and sends them in their JSON spelling.
pub fn content_variables(stored: &str) -> String {
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(stored) {
        Ok(map) => {
            let strings: serde_json::Map<String, serde_json::Value> = map
                .into_iter()
                .map(|(k, v)| {
                    let s = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, serde_json::Value::String(s))
                })
                .collect();
            serde_json::Value::Object(strings).to_string()
        }
        // Validated at send time; pass anything else through and let Twilio judge it.
        Err(_) => stored.to_owned(),
    }
}

/// The form fields, in the order twilio-python sends them.
pub fn form(m: &OutboundSms, callback: Option<&str>) -> Vec<(&'static str, String)> {
    let mut f = vec![("To", address(&m.channel, &m.to))];
    if let Some(cb) = callback {
        f.push(("StatusCallback", cb.to_owned()));
    }
    if let Some(vars) = m.content_sid.as_ref().and(m.content_variables.as_deref()) {
        f.push(("ContentVariables", content_variables(vars)));
    }
    match &m.messaging_service_sid {
        // The service picks the sender from its pool; naming one would defeat that.
        Some(service) => f.push(("MessagingServiceSid", service.clone())),
        None => f.push(("From", address(&m.channel, &m.from))),
    }
    match &m.content_sid {
        Some(sid) => f.push(("ContentSid", sid.clone())),
        None => f.push(("Body", m.body.clone())),
    }
    f
}

/// `application/x-www-form-urlencoded` encoding of the fields.
pub fn encode(fields: &[(&'static str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

pub fn messages_url(base_url: &str, account: &Account) -> String {
    format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        base_url.trim_end_matches('/'),
        account.sid
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_addresses_are_prefixed_both_ways() {
        assert_eq!(address("whatsapp", "+15551230000"), "whatsapp:+15551230000");
        assert_eq!(address("sms", "+15551230000"), "+15551230000");
        assert_eq!(strip_address("whatsapp:+1555"), ("+1555", true));
        assert_eq!(strip_address("+1555"), ("+1555", false));
    }

    #[test]
    fn template_variables_become_strings() {
        assert_eq!(
            content_variables(r#"{"1":"Ana","2":3,"3":true}"#),
            r#"{"1":"Ana","2":"3","3":"true"}"#
        );
    }

    #[test]
    fn callback_urls_carry_the_message_id() {
        assert_eq!(
            status_callback("https://p.example/", 42),
            "https://p.example/v1/carriers/twilio/status?message_id=42"
        );
    }
}
