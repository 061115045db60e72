//! `wasi:sockets` TCP as Spin allows it: a connection goes through when
//! `allowed_outbound_hosts` allows its address for `tcp` (or `*`): an IP
//! address, a CIDR block, a port or port range, `{{ variable }}` templates;
//! any other is refused before anything connects.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::AppDir;

/// A TCP echo server on loopback that counts its connections.
pub fn echo_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 || stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, connections)
}

#[test]
fn tcp_connections_follow_allowed_outbound_hosts() {
    let (port, connections) = echo_server();
    let component = |id: &str, hosts: &str| {
        format!("[[trigger.http]]\nroute = \"/{id}/...\"\ncomponent = \"{id}\"\n[component.{id}]\nsource = \"{{guest}}\"\nallowed_outbound_hosts = [{hosts}]\n")
    };
    let mut manifest = String::from(
        "spin_manifest_version = 2\n[application]\nname = \"sockets\"\n[variables]\nprefix = { default = \"127.0.0.0\" }\nprefix_len = { default = \"24\" }\n",
    );
    for (id, hosts) in [
        ("address", format!("\"*://127.0.0.1:{port}\"")),
        ("range", format!("\"tcp://127.0.0.0/24:{}..{}\"", port - 1, port + 1)),
        ("templated", format!("\"tcp://{{{{ prefix }}}}/{{{{ prefix_len }}}}:{port}\"")),
        ("other-ip", format!("\"tcp://127.0.0.2:{port}\"")),
        ("other-port", format!("\"tcp://127.0.0.1:{}\"", port + 1)),
        ("http-only", format!("\"http://127.0.0.1:{port}\"")),
        ("none", String::new()),
    ] {
        manifest.push_str(&component(id, &hosts));
    }
    let app = AppDir::new(&manifest);
    let souk = app.up();
    for id in ["address", "range", "templated"] {
        let reply = souk.get(&format!("/{id}/tcp?addr=127.0.0.1:{port}&msg=ping-{id}"));
        assert_eq!((reply.status, reply.body.as_str()), (200, format!("ping-{id}").as_str()), "{id}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 3);
    for id in ["other-ip", "other-port", "http-only", "none"] {
        let reply = souk.get(&format!("/{id}/tcp?addr=127.0.0.1:{port}&msg=x"));
        assert_eq!((reply.status, reply.body.as_str()), (409, "PermissionDenied"), "{id}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 3, "a refused connection never reaches the server");
}
