//! The `twilio` carrier: SMS and WhatsApp through Twilio's Programmable Messaging API.
//!
//! A send is one form-encoded `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with
//! HTTP Basic auth ([`request`]); the answer is classified into sent / retry / opt-out /
//! refused ([`response`]). An attempt after one whose outcome is unknown first looks the
//! message up at Twilio ([`reconcile`]), so a lost answer never becomes a second message.
//! Twilio reports statuses and inbound messages to `/v1/carriers/twilio/{status,inbound}`
//! (`crate::api::twilio`), signed as [`signature`] checks.
//!
//! Config: `public_base_url` (where Twilio reaches Parley; without it no `StatusCallback` is
//! sent and statuses stop at `sent`) and `twilio.*` ([`config`]).

pub mod config;
pub mod reconcile;
pub mod request;
pub mod response;
pub mod signature;
pub mod status;

use std::time::Duration;

use async_trait::async_trait;
use parley_store::Store;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};

use self::config::{Account, TwilioConfig};
use super::{Carrier, CarrierError, OutboundSms, Receipt};

pub struct TwilioCarrier {
    cfg: TwilioConfig,
    public_base_url: Option<String>,
    store: Store,
    http: reqwest::Client,
}

impl TwilioCarrier {
    pub fn new(
        cfg: TwilioConfig,
        public_base_url: Option<String>,
        store: Store,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.request_timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
            // Twilio never redirects its API; following one could send credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("parley/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            cfg,
            public_base_url: public_base_url.filter(|u| !u.trim().is_empty()),
            store,
            http,
        })
    }

    fn messages_url(&self, account: &Account) -> String {
        request::messages_url(&self.cfg.base_url, account)
    }

    /// The Twilio id of this message if Twilio already has it (see [`reconcile`]).
    async fn lookup(
        &self,
        account: &Account,
        m: &OutboundSms,
    ) -> Result<Option<String>, CarrierError> {
        let failed = |detail: String| CarrierError::Transient {
            code: response::LOOKUP_FAILED.into(),
            message: detail,
            retry_after_ms: None,
        };
        let res = self
            .http
            .get(self.messages_url(account))
            .basic_auth(&account.sid, Some(account.token.expose()))
            .header(ACCEPT, "application/json")
            .query(&reconcile::query(m, self.cfg.lookup_page_size))
            .send()
            .await
            .map_err(|e| failed(format!("listing messages: {e}")))?;
        if !res.status().is_success() {
            return Err(failed(format!("listing messages: HTTP {}", res.status())));
        }
        let page: reconcile::Page = res
            .json()
            .await
            .map_err(|e| failed(format!("reading the message list: {e}")))?;
        let sids: Vec<String> = page.messages.iter().map(|l| l.sid.clone()).collect();
        let known = self
            .store
            .known_provider_sids(&sids, m.message_id)
            .await
            .map_err(|e| failed(format!("checking known message ids: {e}")))?;
        let skew_ms = self.cfg.reconcile_skew_secs.saturating_mul(1000);
        Ok(reconcile::pick(&page.messages, m, &known, skew_ms).map(|l| l.sid.clone()))
    }

    fn account(&self, m: &OutboundSms) -> Result<Account, CarrierError> {
        self.cfg
            .account_for(&m.org_id, m.carrier_account.as_deref())
            .ok_or_else(|| CarrierError::Rejected {
                code: "TWILIO_ACCOUNT_NOT_CONFIGURED".into(),
                message: "no configured Twilio account for this number or its org".into(),
            })
    }
}

#[async_trait]
impl Carrier for TwilioCarrier {
    async fn find_copy(&self, m: &OutboundSms) -> Result<Option<Receipt>, CarrierError> {
        // A status callback named the message already: Twilio has it.
        if let Some(sid) = &m.provider_sid {
            return Ok(Some(Receipt {
                provider_sid: sid.clone(),
            }));
        }
        if !response::needs_lookup(m.previous_error.as_deref()) {
            return Ok(None);
        }
        let account = self.account(m)?;
        if let Some(sid) = self.lookup(&account, m).await? {
            tracing::info!("found the message at Twilio after a lost answer; not sending it again");
            metrics::counter!("parley_twilio_reconciled_total").increment(1);
            return Ok(Some(Receipt { provider_sid: sid }));
        }
        tracing::info!(
            previous_error = m.previous_error.as_deref(),
            "no copy at Twilio after an attempt with an unknown outcome; sending"
        );
        Ok(None)
    }

    async fn send(&self, m: &OutboundSms) -> Result<Receipt, CarrierError> {
        let account = self.account(m)?;
        let callback = self
            .public_base_url
            .as_deref()
            .map(|base| request::status_callback(base, m.message_id));
        let body = request::encode(&request::form(m, callback.as_deref()));
        let res = self
            .http
            .post(self.messages_url(&account))
            .basic_auth(&account.sid, Some(account.token.expose()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| response::from_transport(&e))?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = res.text().await.map_err(|e| response::from_transport(&e))?;
        response::classify(status, retry_after.as_deref(), &text)
    }
}
