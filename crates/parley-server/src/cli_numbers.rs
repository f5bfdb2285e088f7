//! `parley number add` / `parley number update`: how a number sends.
//!
//! A number's rate comes from `--mps`, else from its `--number-type` (`pacing.type_mps`),
//! else `dispatch.default_mps`. `update` changes only what it is given; an empty value
//! (`--messaging-service-sid ""`, `--account ""`) or `--daily-cap 0` removes a setting.

use clap::Args;
use parley_domain::{Channel, NumberType, PhoneNumber};
use parley_store::{NumberRow, NumberSending, Store};

use crate::{carriers::twilio::config::is_sid, config::Config};

#[derive(Debug, Args, Clone, Default)]
pub struct SendingArgs {
    /// long_code, toll_free, short_code or whatsapp: sets the default rate (pacing.type_mps)
    #[arg(long, value_parser = ["long_code", "toll_free", "short_code", "whatsapp"])]
    pub number_type: Option<String>,
    /// Segments per second this number may send (overrides its type's rate)
    #[arg(long)]
    pub mps: Option<f64>,
    /// Most segments per day (0: no cap)
    #[arg(long)]
    pub daily_cap: Option<i64>,
    /// Send through this Twilio messaging service (MG…); its numbers share one pace
    #[arg(long)]
    pub messaging_service_sid: Option<String>,
    /// The configured Twilio account (`twilio.accounts.NAME`) this number uses
    #[arg(long)]
    pub account: Option<String>,
}

fn blank_is_none(v: Option<&String>, current: Option<String>) -> Option<String> {
    match v {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.clone()),
        None => current,
    }
}

/// The settings `args` give a number that currently sends as `current`.
pub fn merge(
    cfg: &Config,
    carrier: &str,
    args: &SendingArgs,
    current: Option<&NumberRow>,
) -> anyhow::Result<NumberSending> {
    let number_type = match &args.number_type {
        Some(t) => {
            Some(NumberType::parse(t).ok_or_else(|| anyhow::anyhow!("unknown --number-type {t}"))?)
        }
        None => current
            .and_then(|c| c.number_type.as_deref())
            .and_then(NumberType::parse),
    };
    let mps = match (args.mps, &args.number_type, current) {
        (Some(m), _, _) => m,
        (None, Some(_), _) | (None, None, None) => number_type
            .map(|t| cfg.pacing.type_mps.of(t))
            .unwrap_or(cfg.dispatch.default_mps),
        (None, None, Some(c)) => c.mps,
    };
    anyhow::ensure!(
        mps > 0.0 && mps.is_finite(),
        "--mps must be a positive number"
    );
    let daily_cap = match args.daily_cap {
        Some(0) => None,
        Some(n) if n > 0 => Some(n),
        Some(_) => anyhow::bail!("--daily-cap must be 0 (none) or positive"),
        None => current.and_then(|c| c.daily_cap),
    };
    let messaging_service_sid = blank_is_none(
        args.messaging_service_sid.as_ref(),
        current.and_then(|c| c.messaging_service_sid.clone()),
    );
    if let Some(mg) = &messaging_service_sid {
        anyhow::ensure!(
            is_sid(mg, "MG"),
            "--messaging-service-sid must be MG followed by 32 hex digits"
        );
    }
    let carrier_account = blank_is_none(
        args.account.as_ref(),
        current.and_then(|c| c.carrier_account.clone()),
    );
    if let Some(a) = &carrier_account {
        anyhow::ensure!(
            cfg.twilio.accounts.contains_key(a),
            "--account {a}: no [twilio.accounts.{a}] in the configuration"
        );
    }
    Ok(NumberSending {
        carrier: carrier.to_owned(),
        number_type: number_type.map(|t| t.as_str().to_owned()),
        mps,
        daily_cap,
        messaging_service_sid,
        carrier_account,
    })
}

/// The number `parley number add` creates.
pub struct NewNumber<'a> {
    pub org: &'a str,
    pub number: &'a str,
    pub carrier: &'a str,
    pub channel: &'a str,
}

pub async fn add(
    cfg: &Config,
    store: &Store,
    new: &NewNumber<'_>,
    args: &SendingArgs,
    now_ms: i64,
) -> anyhow::Result<NumberRow> {
    let NewNumber {
        org,
        number,
        carrier,
        channel,
    } = *new;
    let number = PhoneNumber::parse(number).map_err(|e| anyhow::anyhow!("number {number}: {e}"))?;
    let channel = Channel::parse(channel).expect("clap restricts the channel");
    let mut args = args.clone();
    // A WhatsApp sender paces like one unless told otherwise.
    if channel == Channel::Whatsapp && args.number_type.is_none() && args.mps.is_none() {
        args.number_type = Some(NumberType::Whatsapp.as_str().into());
    }
    let sending = merge(cfg, carrier, &args, None)?;
    anyhow::ensure!(
        store.org_by_id(org).await?.is_some(),
        "org {org} does not exist"
    );
    store
        .add_number(
            org,
            number.as_str(),
            carrier,
            channel.as_str(),
            sending.mps,
            now_ms,
        )
        .await?;
    store.set_number_sending(number.as_str(), &sending).await?;
    Ok(store.number(number.as_str()).await?.expect("just added"))
}

pub async fn update(
    cfg: &Config,
    store: &Store,
    number: &str,
    carrier: Option<&str>,
    args: &SendingArgs,
) -> anyhow::Result<NumberRow> {
    let number = PhoneNumber::parse(number).map_err(|e| anyhow::anyhow!("number {number}: {e}"))?;
    let current = store
        .number(number.as_str())
        .await?
        .ok_or_else(|| anyhow::anyhow!("number {number} does not exist"))?;
    let sending = merge(
        cfg,
        carrier.unwrap_or(&current.carrier),
        args,
        Some(&current),
    )?;
    store.set_number_sending(number.as_str(), &sending).await?;
    Ok(store.number(number.as_str()).await?.expect("exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_come_from_mps_then_type_then_the_default() {
        let cfg = Config::defaults();
        let args = |t: Option<&str>, mps: Option<f64>| SendingArgs {
            number_type: t.map(Into::into),
            mps,
            ..Default::default()
        };
        assert_eq!(
            merge(&cfg, "twilio", &args(Some("toll_free"), None), None)
                .unwrap()
                .mps,
            3.0
        );
        assert_eq!(
            merge(&cfg, "twilio", &args(Some("short_code"), Some(50.0)), None)
                .unwrap()
                .mps,
            50.0
        );
        assert_eq!(
            merge(&cfg, "twilio", &args(None, None), None).unwrap().mps,
            cfg.dispatch.default_mps
        );
        let long = merge(&cfg, "twilio", &args(Some("long_code"), None), None).unwrap();
        assert_eq!(
            (long.mps, long.number_type.as_deref()),
            (1.0, Some("long_code"))
        );
        assert!(merge(
            &cfg,
            "twilio",
            &SendingArgs {
                account: Some("nope".into()),
                ..Default::default()
            },
            None
        )
        .is_err());
        assert!(merge(
            &cfg,
            "twilio",
            &SendingArgs {
                messaging_service_sid: Some("MG1".into()),
                ..Default::default()
            },
            None
        )
        .is_err());
    }
}
