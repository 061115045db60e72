//! `[outbound_networking] max_socket_connections` (and
//! `max_total_connections`) for `wasi:sockets`, as Spin counts them: a TCP
//! or UDP socket takes a place when the guest creates it and gives it back
//! when the guest drops it, or when its instance ends. With no place the
//! creation fails at once: `new-socket-limit` for a WASIp2 guest, `other`
//! with the reason for a WASIp3 one (whose error codes have no such case).
//!
//! wasmtime-wasi's socket interfaces are linked whole first; then the four
//! functions that create a socket and the two socket resources of each
//! version are defined again over them (the linker's shadowing), each
//! calling wasmtime-wasi's own after taking a place, or before giving it
//! back. Nothing else of the interfaces changes.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceType};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::p2::bindings::sockets::network::{self as p2_network, ErrorCode as P2ErrorCode, IpAddressFamily as P2Family};
use wasmtime_wasi::p2::bindings::sockets::{tcp as p2_tcp, tcp_create_socket, udp as p2_udp, udp_create_socket};
use wasmtime_wasi::p3::bindings::sockets::types::{self as p3, ErrorCode as P3ErrorCode, IpAddressFamily as P3Family};
use wasmtime_wasi::sockets::WasiSocketsView;

use super::HasCapabilities;
use super::connection_limits::{ConnectionLimits, Kind, Permit};

/// The interfaces as wasmtime-wasi links them (a guest built against an
/// older 0.2 version is linked to these too). If wasmtime-wasi's versions
/// move, these must follow: the e2e test
/// `connection_limits::sockets_are_held_to_max_socket_connections_in_both_wasi_versions`
/// fails otherwise.
const P2_TCP_CREATE: &str = "wasi:sockets/tcp-create-socket@0.2.12";
const P2_TCP: &str = "wasi:sockets/tcp@0.2.12";
const P2_UDP_CREATE: &str = "wasi:sockets/udp-create-socket@0.2.12";
const P2_UDP: &str = "wasi:sockets/udp@0.2.12";
const P3_TYPES: &str = "wasi:sockets/types@0.3.0";

/// An instance's places, by the resource of the socket holding each.
pub struct SocketPermits {
    limits: Arc<ConnectionLimits>,
    held: HashMap<u32, Permit>,
}

impl SocketPermits {
    pub fn new(limits: Arc<ConnectionLimits>) -> SocketPermits {
        SocketPermits { limits, held: HashMap::new() }
    }
}

/// Defines the counting functions over wasmtime-wasi's, already linked.
pub fn link<T: WasiView + HasCapabilities + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = shadow(linker);
    linker.allow_shadowing(false);
    linked
}

fn shadow<T: WasiView + HasCapabilities + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.instance(P2_TCP_CREATE)?.func_wrap("create-tcp-socket", |mut store: StoreContextMut<'_, T>, (family,): (P2Family,)| {
        let permit = match take(store.data_mut()) {
            Ok(permit) => permit,
            Err(_) => return Ok((Err(P2ErrorCode::NewSocketLimit),)),
        };
        let created = tcp_create_socket::Host::create_tcp_socket(&mut store.data_mut().sockets(), family);
        Ok((held(store.data_mut(), created, permit, p2_code)?,))
    })?;
    linker.instance(P2_UDP_CREATE)?.func_wrap_async("create-udp-socket", |mut store: StoreContextMut<'_, T>, (family,): (P2Family,)| {
        Box::new(async move {
            let permit = match take(store.data_mut()) {
                Ok(permit) => permit,
                Err(_) => return Ok((Err(P2ErrorCode::NewSocketLimit),)),
            };
            let created = udp_create_socket::Host::create_udp_socket(&mut store.data_mut().sockets(), family).await;
            Ok((held(store.data_mut(), created, permit, p2_code)?,))
        })
    })?;
    linker.instance(P2_TCP)?.resource("tcp-socket", ResourceType::host::<wasmtime_wasi::p2::TcpSocket>(), |mut store, rep| {
        give_back(store.data_mut(), rep);
        p2_tcp::HostTcpSocket::drop(&mut store.data_mut().sockets(), Resource::new_own(rep))
    })?;
    linker.instance(P2_UDP)?.resource("udp-socket", ResourceType::host::<wasmtime_wasi::p2::UdpSocket>(), |mut store, rep| {
        give_back(store.data_mut(), rep);
        p2_udp::HostUdpSocket::drop(&mut store.data_mut().sockets(), Resource::new_own(rep))
    })?;

    let mut types = linker.instance(P3_TYPES)?;
    types.func_wrap("[static]tcp-socket.create", |mut store: StoreContextMut<'_, T>, (family,): (P3Family,)| {
        let permit = match take(store.data_mut()) {
            Ok(permit) => permit,
            Err(reached) => return Ok((Err(P3ErrorCode::Other(Some(reached))),)),
        };
        let created = p3::HostTcpSocket::create(&mut store.data_mut().sockets(), family);
        Ok((held(store.data_mut(), created, permit, p3_code)?,))
    })?;
    types.func_wrap_async("[static]udp-socket.create", |mut store: StoreContextMut<'_, T>, (family,): (P3Family,)| {
        Box::new(async move {
            let permit = match take(store.data_mut()) {
                Ok(permit) => permit,
                Err(reached) => return Ok((Err(P3ErrorCode::Other(Some(reached))),)),
            };
            let created = p3::HostUdpSocket::create(&mut store.data_mut().sockets(), family).await;
            Ok((held(store.data_mut(), created, permit, p3_code)?,))
        })
    })?;
    types.resource("tcp-socket", ResourceType::host::<wasmtime_wasi::sockets::TcpSocket>(), |mut store, rep| {
        give_back(store.data_mut(), rep);
        p3::HostTcpSocket::drop(&mut store.data_mut().sockets(), Resource::new_own(rep))
    })?;
    types.resource("udp-socket", ResourceType::host::<wasmtime_wasi::sockets::UdpSocket>(), |mut store, rep| {
        give_back(store.data_mut(), rep);
        p3::HostUdpSocket::drop(&mut store.data_mut().sockets(), Resource::new_own(rep))
    })?;
    Ok(())
}

/// A place for a new socket, or which limit is reached (logged).
fn take<T: HasCapabilities>(state: &mut T) -> Result<Permit, String> {
    let taken = state.capabilities().caps.sockets.limits.try_acquire(Kind::Socket);
    taken.map_err(|reached| {
        tracing::warn!("a guest's new socket was refused: {reached}");
        format!("too many open sockets: {reached}")
    })
}

fn give_back<T: HasCapabilities>(state: &mut T, rep: u32) {
    state.capabilities().caps.sockets.held.remove(&rep);
}

/// A socket wasmtime-wasi created holds `permit` until it is dropped; a
/// failure gives the permit back and is told to the guest as `code` makes it.
fn held<T: HasCapabilities, R: 'static, E, C>(
    state: &mut T,
    created: Result<Resource<R>, E>,
    permit: Permit,
    code: impl FnOnce(&mut T, E) -> wasmtime::Result<C>,
) -> wasmtime::Result<Result<Resource<R>, C>> {
    match created {
        Ok(socket) => {
            state.capabilities().caps.sockets.held.insert(socket.rep(), permit);
            Ok(Ok(socket))
        }
        Err(e) => Ok(Err(code(state, e)?)),
    }
}

fn p2_code<T: WasiView>(state: &mut T, e: wasmtime_wasi::p2::SocketError) -> wasmtime::Result<P2ErrorCode> {
    p2_network::Host::convert_error_code(&mut state.sockets(), e)
}

fn p3_code<T: WasiView>(state: &mut T, e: wasmtime_wasi::p3::sockets::SocketError) -> wasmtime::Result<P3ErrorCode> {
    p3::Host::convert_error_code(&mut state.sockets(), e)
}
