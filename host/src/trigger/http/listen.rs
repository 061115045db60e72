//! Binding the listener: `--listen`, and with `--find-free-port` the next
//! free port after a taken one, as `spin up` does.

use std::io::ErrorKind;
use std::net::SocketAddr;

use tokio::net::TcpListener;

/// How many ports after `--listen`'s are tried.
const MORE_PORTS: u16 = 100;

pub async fn bind(addr: SocketAddr, find_free_port: bool) -> wasmtime::Result<TcpListener> {
    let last = if find_free_port { addr.port().saturating_add(MORE_PORTS) } else { addr.port() };
    let mut candidate = addr;
    loop {
        match TcpListener::bind(candidate).await {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == ErrorKind::AddrInUse && candidate.port() != 0 && candidate.port() < last => candidate.set_port(candidate.port() + 1),
            Err(e) if e.kind() == ErrorKind::AddrInUse && !find_free_port => {
                wasmtime::bail!("cannot listen on {addr}: it is already in use (--find-free-port tries the next ports)")
            }
            Err(e) if e.kind() == ErrorKind::AddrInUse => wasmtime::bail!("cannot listen on {addr}: it and the next {MORE_PORTS} ports are in use"),
            Err(e) => wasmtime::bail!("cannot listen on {candidate}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_port_is_refused_unless_asked_to_look_further() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let error = bind(addr, false).await.unwrap_err().to_string();
        assert!(error.contains("already in use") && error.contains("--find-free-port"), "{error}");
        let found = bind(addr, true).await.unwrap();
        assert!(found.local_addr().unwrap().port() > addr.port());
    }
}
