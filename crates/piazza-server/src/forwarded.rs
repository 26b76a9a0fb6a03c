//! The client's address behind a proxy or a load balancer. When the TCP
//! peer is one of the operator's `trusted_proxies`, the client is the
//! rightmost address of `X-Forwarded-For` that is not itself a trusted
//! proxy (nginx's `real_ip_recursive`); from anyone else the header is
//! ignored, so a client cannot choose the address its limits are counted
//! under. Every per-address rule (anonymous requests, wrong passwords, QR
//! log-in requests) reads the address found here; the per-address cap on
//! connections does not apply to a trusted proxy, which carries many
//! clients' connections.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address, or a network as `address/prefix` (`10.0.0.0/8`,
/// `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Network, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let written: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an address or network (10.0.0.0/8, fd00::/8)"))?;
        let bits = if written.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix must be 0 to {bits}"))?,
        };
        // `::ffff:10.0.0.5/128` is the IPv4 address `10.0.0.5/32`.
        let address = written.to_canonical();
        let prefix = match (written, address) {
            (IpAddr::V6(_), IpAddr::V4(_)) => prefix.checked_sub(96).ok_or_else(|| {
                format!("{text:?}: an IPv4-mapped network needs a prefix of 96 or more")
            })?,
            _ => prefix,
        };
        Ok(Network { address, prefix })
    }
}

impl Network {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.address, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                leading(u32::from(network).into(), 32, self.prefix)
                    == leading(u32::from(address).into(), 32, self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                leading(network.into(), 128, self.prefix)
                    == leading(address.into(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// The first `prefix` bits of a `bits`-bit address (all of them past
/// `bits`, none at 0).
fn leading(address: u128, bits: u8, prefix: u8) -> u128 {
    match bits.saturating_sub(prefix) {
        0 => address,
        host if host >= 128 => 0,
        host => address >> host,
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy
/// that says whom it forwards for. The hops are read from the nearest
/// back, each a proxy of ours until the first that is not: that one is
/// the client. What lies beyond it is the client's own say and is never
/// read; a hop before it that does not parse leaves the nearest proxy of
/// ours as the client.
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trusted: &[Network]) -> SocketAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|network| network.contains(address));
    let mut client = peer.ip();
    if trusted.is_empty() || !is_trusted(client) {
        return peer;
    }
    'lines: for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(value) = value.to_str() else {
            break;
        };
        for hop in value
            .rsplit(',')
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
        {
            let Some(address) = parse_hop(hop) else {
                break 'lines;
            };
            client = address;
            if !is_trusted(address) {
                break 'lines;
            }
        }
    }
    SocketAddr::new(client, peer.port())
}

/// One `X-Forwarded-For` entry: an address, maybe with a port
/// (`198.51.100.7:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|at| at.ip()))
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn networks(list: &[&str]) -> Vec<Network> {
        list.iter().map(|text| text.parse().unwrap()).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn client(peer: &str, values: &[&str], trusted: &[&str]) -> String {
        let peer: SocketAddr = peer.parse().unwrap();
        client_address(peer, &forwarded(values), &networks(trusted))
            .ip()
            .to_string()
    }

    #[test]
    fn networks_parse_and_contain() {
        let lan: Network = "10.1.0.0/16".parse().unwrap();
        assert!(lan.contains("10.1.200.3".parse().unwrap()));
        assert!(!lan.contains("10.2.0.1".parse().unwrap()));
        assert!(lan.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one: Network = "fd00::1".parse().unwrap();
        assert!(one.contains("fd00::1".parse().unwrap()));
        assert!(!one.contains("fd00::2".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        // An IPv4-mapped address is the IPv4 address, and trusts no more.
        let mapped: Network = "::ffff:10.0.0.5".parse().unwrap();
        assert!(mapped.contains("10.0.0.5".parse().unwrap()));
        assert!(!mapped.contains("203.0.113.9".parse().unwrap()));
        let mapped_lan: Network = "::ffff:10.0.0.0/104".parse().unwrap();
        assert!(mapped_lan.contains("10.200.0.1".parse().unwrap()));
        assert!(!mapped_lan.contains("11.0.0.1".parse().unwrap()));
        let bad = [
            "10.0.0.0/33",
            "fd00::/129",
            "ten",
            "10.0.0.0/x",
            "",
            "::ffff:10.0.0.0/64",
        ];
        for bad in bad {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let trusted = ["10.0.0.0/8"];
        // Through the proxy: the client it names.
        assert_eq!(
            client("10.0.0.5:80", &["203.0.113.7"], &trusted),
            "203.0.113.7"
        );
        // Straight from the internet: the header is the client's own say.
        assert_eq!(
            client("198.51.100.1:80", &["203.0.113.7"], &trusted),
            "198.51.100.1"
        );
        // No proxies configured: never believed.
        assert_eq!(client("10.0.0.5:80", &["203.0.113.7"], &[]), "10.0.0.5");
        // A proxy saying nothing is its own client.
        assert_eq!(client("10.0.0.5:80", &[], &trusted), "10.0.0.5");
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8"];
        // A client that sent its own header to the proxy cannot hide
        // behind it: the proxy appended the address it saw.
        let spoofed = ["1.2.3.4, 203.0.113.7"];
        assert_eq!(client("10.0.0.5:80", &spoofed, &trusted), "203.0.113.7");
        // Through two proxies of ours, over two header lines.
        let chain = ["203.0.113.7", "10.0.0.9"];
        assert_eq!(client("10.0.0.5:80", &chain, &trusted), "203.0.113.7");
        // Ports and brackets are read; a hop that does not parse is not.
        assert_eq!(
            client("10.0.0.5:80", &["[2001:db8::1]:4711"], &trusted),
            "2001:db8::1"
        );
        assert_eq!(
            client("10.0.0.5:80", &["203.0.113.7:4711"], &trusted),
            "203.0.113.7"
        );
        assert_eq!(client("10.0.0.5:80", &["unknown"], &trusted), "10.0.0.5");
        // Junk the client put before the address the proxy appended is
        // never read: the client is not made the proxy.
        let junk = ["unknown, 203.0.113.7"];
        assert_eq!(client("10.0.0.5:80", &junk, &trusted), "203.0.113.7");
        // Through two proxies of ours, the far one naming nobody: the far
        // proxy is the client.
        assert_eq!(client("10.0.0.5:80", &["10.0.0.9"], &trusted), "10.0.0.9");
    }
}
