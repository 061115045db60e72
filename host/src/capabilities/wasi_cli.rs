//! WASI for one component: its environment (`environment` and `souk up -e`),
//! its `files` mounted read-only at `/`, stdout/stderr appended to its log
//! files, and `wasi:sockets` as far as its `allowed_outbound_hosts` reach.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use souk_manifest::{AllowedHosts, BlockedNetworks};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::connection_limits::ConnectionLimits;
use crate::logs::ComponentLogs;

pub struct WasiGrant {
    pub env: Vec<(String, String)>,
    /// Host folders mounted read-only, each at its guest path: the
    /// component's `files` staged under the state dir at `/`, or with
    /// `--direct-mounts` its folders themselves.
    pub mounts: Vec<(PathBuf, String)>,
    pub logs: ComponentLogs,
    /// Where its sockets may connect (templates already expanded).
    pub allowed_hosts: Arc<AllowedHosts>,
    /// Where they may not, whatever `allowed_hosts` say.
    pub blocked: Arc<BlockedNetworks>,
    /// How many sockets the app's guests may hold (`socket_limits.rs`).
    pub connection_limits: Arc<ConnectionLimits>,
}

impl WasiGrant {
    /// A fresh WASI context for one instance, with `more` added last (a
    /// WAGI request's arguments, environment and pipes; nothing for others).
    pub fn context_with(&self, more: impl FnOnce(&mut WasiCtxBuilder)) -> wasmtime::Result<WasiCtx> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.envs(&self.env);
        wasi.stdout(self.logs.stdout.clone());
        wasi.stderr(self.logs.stderr.clone());
        wasi.allow_blocking_current_thread(true);
        for (dir, guest_path) in &self.mounts {
            wasi.preopened_dir(dir, guest_path, FsPerms::ReadOnly)?;
        }
        // Every address is checked before any socket call; with no entry
        // that matches, a connect fails with `access-denied`.
        wasi.allow_tcp(true).allow_udp(true);
        let (allowed, blocked) = (self.allowed_hosts.clone(), self.blocked.clone());
        wasi.socket_addr_check(move |addr, used_for| {
            let allowed = socket_use_allowed(&allowed, addr, used_for) && !reaches_blocked(&blocked, addr, used_for);
            Box::pin(async move { allowed })
        });
        more(&mut wasi);
        Ok(wasi.build())
    }
}

/// Spin's rule for `wasi:sockets`: a TCP connection, or a UDP datagram sent
/// or received, to or from an address that `allowed_outbound_hosts` allows for the
/// `tcp` or `udp` scheme (or `*`); IP addresses and CIDR blocks match it,
/// host names do not (a socket connects to an address, not a name). Guests
/// accept nothing: listening, and binding to a chosen address, are refused;
/// the bind to an ephemeral port that precedes a connection is not.
fn socket_use_allowed(allowed: &AllowedHosts, addr: SocketAddr, used_for: SocketAddrUse) -> bool {
    let scheme = match used_for {
        SocketAddrUse::TcpConnect => "tcp",
        // Datagrams go to, and are taken from, allowed addresses only.
        SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => "udp",
        SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => return addr.ip().is_unspecified() && addr.port() == 0,
        SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => return false,
    };
    allowed.allows(scheme, &addr.ip().to_string(), addr.port())
}

/// Whether a connection or datagram would go to (or come from) an address
/// in a blocked network.
fn reaches_blocked(blocked: &BlockedNetworks, addr: SocketAddr, used_for: SocketAddrUse) -> bool {
    let outward = matches!(used_for, SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive);
    outward && blocked.is_blocked(addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connections_follow_allowed_outbound_hosts() {
        let hosts = allowed(&["*://127.0.0.1:7", "tcp://10.1.0.0/16:6000..6010", "https://example.com"]);
        assert!(socket_use_allowed(&hosts, addr("127.0.0.1:7"), SocketAddrUse::TcpConnect));
        assert!(socket_use_allowed(&hosts, addr("127.0.0.1:7"), SocketAddrUse::UdpSend));
        assert!(socket_use_allowed(&hosts, addr("10.1.200.3:6009"), SocketAddrUse::TcpConnect));
        assert!(!socket_use_allowed(&hosts, addr("10.1.200.3:6010"), SocketAddrUse::TcpConnect), "the range's end is excluded");
        assert!(!socket_use_allowed(&hosts, addr("10.2.0.1:6000"), SocketAddrUse::TcpConnect), "outside the block");
        assert!(!socket_use_allowed(&hosts, addr("127.0.0.2:7"), SocketAddrUse::TcpConnect));
        assert!(!socket_use_allowed(&hosts, addr("127.0.0.1:8"), SocketAddrUse::TcpConnect));
        assert!(!socket_use_allowed(&hosts, addr("10.1.0.1:6000"), SocketAddrUse::UdpSend), "a tcp entry is not a udp one");
        assert!(!socket_use_allowed(&allowed(&[]), addr("127.0.0.1:7"), SocketAddrUse::TcpConnect));
    }

    #[test]
    fn guests_connect_out_but_never_listen() {
        let hosts = allowed(&["*://*:*"]);
        assert!(socket_use_allowed(&hosts, addr("0.0.0.0:0"), SocketAddrUse::TcpBind), "the ephemeral bind of a connect");
        assert!(socket_use_allowed(&hosts, addr("[::]:0"), SocketAddrUse::UdpBind));
        assert!(!socket_use_allowed(&hosts, addr("0.0.0.0:8080"), SocketAddrUse::TcpBind));
        assert!(!socket_use_allowed(&hosts, addr("127.0.0.1:0"), SocketAddrUse::TcpBind));
        assert!(!socket_use_allowed(&hosts, addr("0.0.0.0:0"), SocketAddrUse::TcpListen));
    }

    #[test]
    fn blocked_networks_stop_connections_and_datagrams_but_not_the_ephemeral_bind() {
        let blocked = BlockedNetworks::parse(&["private".to_string()]).unwrap();
        assert!(reaches_blocked(&blocked, addr("127.0.0.1:7"), SocketAddrUse::TcpConnect));
        assert!(reaches_blocked(&blocked, addr("10.0.0.1:53"), SocketAddrUse::UdpSend));
        assert!(!reaches_blocked(&blocked, addr("1.1.1.1:53"), SocketAddrUse::UdpSend));
        assert!(!reaches_blocked(&blocked, addr("0.0.0.0:0"), SocketAddrUse::TcpBind));
    }
}
