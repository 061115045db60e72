//! The runtime config's `[outbound_networking] block_networks`, as Spin
//! reads it: IP networks no guest may connect to, whatever its
//! `allowed_outbound_hosts` say, and the keyword `private` for every
//! address that is not global (loopback, RFC 1918, link-local, shared,
//! unique-local, documentation and the other special-purpose ranges). An
//! IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is judged as IPv4.
//!
//! The special-purpose ranges and the CIDR parsing come from `ip_network`,
//! which follows IANA's registries (the same crate Spin uses, so the
//! keyword means the same on both).

use std::net::IpAddr;

use ip_network::IpNetwork;

/// The networks guests may not reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockedNetworks {
    networks: Vec<IpNetwork>,
    private: bool,
}

impl BlockedNetworks {
    /// `entries` as written in the runtime config: CIDR blocks, single
    /// addresses, or `private`; an error names the entry that is neither.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut blocked = BlockedNetworks::default();
        for entry in entries {
            blocked.add(entry)?;
        }
        Ok(blocked)
    }

    /// Adds one entry: a CIDR block, a single address, or `private`.
    pub fn add(&mut self, entry: &str) -> Result<(), String> {
        let entry = entry.trim();
        if entry == "private" {
            self.private = true;
        } else if let Ok(ip) = entry.parse::<IpAddr>() {
            self.networks.push(IpNetwork::from(ip));
        } else {
            let network = IpNetwork::from_str_truncate(entry)
                .map_err(|e| format!("`{entry}` is not an IP network in CIDR notation (e.g. \"10.0.0.0/8\") or the keyword \"private\": {e}"))?;
            self.networks.push(network);
        }
        Ok(())
    }

    /// Whether nothing is blocked.
    pub fn is_empty(&self) -> bool {
        !self.private && self.networks.is_empty()
    }

    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        if let IpAddr::V6(v6) = ip
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return self.is_blocked(IpAddr::V4(v4));
        }
        (self.private && !IpNetwork::from(ip).is_global()) || self.networks.iter().any(|network| network.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(entries: &[&str]) -> BlockedNetworks {
        BlockedNetworks::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_and_single_addresses_are_blocked_ipv4_mapped_too() {
        let b = blocked(&["123.123.0.0/16", "2001::/96", "8.8.8.8"]);
        for inside in ["123.123.1.2", "2001::1000", "::ffff:123.123.9.9", "8.8.8.8"] {
            assert!(b.is_blocked(ip(inside)), "{inside}");
        }
        for outside in ["123.124.0.1", "2002::1", "8.8.4.4", "127.0.0.1"] {
            assert!(!b.is_blocked(ip(outside)), "{outside}");
        }
        // Host bits are dropped, as Spin reads `8.8.8.8/16`.
        assert!(blocked(&["8.8.8.8/16"]).is_blocked(ip("8.8.200.1")));
    }

    #[test]
    fn private_blocks_every_address_that_is_not_global() {
        let b = blocked(&["private"]);
        for private in
            ["0.0.0.0", "10.10.10.10", "100.64.1.1", "127.0.0.1", "169.254.0.1", "172.16.0.1", "192.168.1.1", "::1", "::ffff:10.1.1.1", "fc00::1", "fe80::1"]
        {
            assert!(b.is_blocked(ip(private)), "{private}");
        }
        for global in ["1.1.1.1", "123.123.123.123", "2600::beef"] {
            assert!(!b.is_blocked(ip(global)), "{global}");
        }
        assert!(BlockedNetworks::default().is_empty() && !b.is_empty());
    }

    #[test]
    fn an_entry_that_is_no_network_is_named() {
        let e = BlockedNetworks::parse(&["10.0.0.0/8".into(), "intranet".into()]).unwrap_err();
        assert!(e.starts_with("`intranet` is not an IP network"), "{e}");
        assert!(BlockedNetworks::parse(&["10.0.0.0/33".into()]).is_err());
    }
}
