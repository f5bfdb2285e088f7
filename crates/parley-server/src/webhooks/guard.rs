//! SSRF guard for customer URLs: webhooks must not reach Parley's own network.
//!
//! Private, loopback, link-local, CGNAT, unique-local, multicast and unspecified addresses
//! are refused unless an operator allows their network in `webhooks.allowed_networks`.
//! Names are checked when resolved, by the HTTP client's own resolver, so a name cannot
//! pass the check and then connect somewhere else (DNS rebinding).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

/// A CIDR network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has an invalid prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Whether `ip` belongs to a network a customer URL must not reach by default.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || o[0] == 0
        // CGNAT 100.64.0.0/10 and the benchmarking range 198.18.0.0/15.
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || o[0] >= 240
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
}

/// The policy: internal addresses refused unless their network is allowed.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allowed: Vec<Network>,
}

impl Guard {
    pub fn new(allowed: &[String]) -> Self {
        Self {
            allowed: allowed
                .iter()
                .filter_map(|n| Network::parse(n).ok())
                .collect(),
        }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }

    /// Checks a URL before posting: its scheme, and its host when that is an IP literal, or
    /// every address the name resolves to. `Err` says why it is refused (never retried).
    pub async fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {} is not allowed", url.scheme()));
        }
        let host = url.host_str().ok_or("the URL has no host")?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return if self.permits(ip) {
                Ok(())
            } else {
                Err(format!("address {ip} is private, loopback or link-local"))
            };
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((bare, port)).await {
            Ok(a) => a.collect(),
            // Resolution failures are transient: the client's own lookup reports them.
            Err(_) => return Ok(()),
        };
        match addrs.iter().find(|a| !self.permits(a.ip())) {
            Some(a) => Err(format!(
                "{host} resolves to {}, which is private, loopback or link-local",
                a.ip()
            )),
            None => Ok(()),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The HTTP client's resolver: drops refused addresses, so a connection can only go to an
/// address the guard permits, whatever the name resolves to at that moment.
pub struct GuardedResolver(pub Arc<Guard>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
            let addrs: Vec<SocketAddr> = found.filter(|a| guard.permits(a.ip())).collect();
            if addrs.is_empty() {
                let refused: BoxError =
                    format!("{} has no permitted address", name.as_str()).into();
                return Err(refused);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_refused_unless_allowed() {
        let guard = Guard::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!guard.permits(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(guard.permits(ip.parse().unwrap()), "{ip}");
        }
        let loopback = Guard::new(&["127.0.0.0/8".into()]);
        assert!(loopback.permits("127.0.0.1".parse().unwrap()));
        assert!(loopback.permits("::ffff:127.0.0.5".parse().unwrap()));
        assert!(!loopback.permits("10.0.0.1".parse().unwrap()));
        assert!(!loopback.permits("::1".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("nope").is_err());
    }

    #[tokio::test]
    async fn urls_are_checked_by_literal_and_by_name() {
        let guard = Guard::default();
        let refuse = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(guard
            .check_url(&refuse("http://127.0.0.1:9/x"))
            .await
            .is_err());
        assert!(guard.check_url(&refuse("http://[::1]:9/x")).await.is_err());
        assert!(guard
            .check_url(&refuse("http://localhost:9/x"))
            .await
            .is_err());
        assert!(guard
            .check_url(&refuse("ftp://example.com/x"))
            .await
            .is_err());
        assert!(guard
            .check_url(&refuse("http://93.184.216.34/x"))
            .await
            .is_ok());
    }
}
