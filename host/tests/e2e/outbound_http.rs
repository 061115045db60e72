//! souk's outbound HTTP client: a component's connections to a host are
//! kept and reused (HTTP/1.1 keep-alive in the clear, HTTP/2 over TLS
//! where offered), and never lent to another component.

use std::sync::atomic::Ordering;

use crate::harness::two_guests;
use crate::test_ca::serve;

#[test]
fn a_components_connections_are_reused_and_never_shared() {
    let server = serve(None);
    let port = server.port;
    let allowed = format!("http://127.0.0.1:{port}");
    let app = two_guests("pooling", ("api", &allowed), ("web", &allowed));
    let souk = app.up();
    for _ in 0..3 {
        let reply = souk.get(&format!("/api/outbound?url=http://127.0.0.1:{port}/"));
        assert_eq!((reply.status, reply.body.as_str()), (200, "status=200\nsecret HTTP/1.1"));
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "one connection served the component's three requests");
    let reply = souk.get(&format!("/web/outbound?url=http://127.0.0.1:{port}/"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.connections.load(Ordering::SeqCst), 2, "another component opens its own");
    // A request body goes out whole, on the component's kept connection.
    let body = "x".repeat(100_000);
    let reply = souk.post(&format!("/api/post-out?url=http://127.0.0.1:{port}/"), &body);
    assert_eq!(reply.status, 200, "{}", &reply.body[..reply.body.len().min(200)]);
    assert!(reply.body == format!("status=200\nsecret HTTP/1.1 {body}"), "the body came back changed");
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn the_authority_spin_outbound_h2c_prior_knowledge_names_is_spoken_to_in_cleartext_http2() {
    let (h2c, other) = (serve(None), serve(None));
    let allowed = format!("http://127.0.0.1:{}", h2c.port);
    let also = format!("http://127.0.0.1:{}", other.port);
    let app = two_guests("h2c", ("api", &allowed), ("web", &also));
    let souk = app.up_with(&[], &[("SPIN_OUTBOUND_H2C_PRIOR_KNOWLEDGE", &format!("127.0.0.1:{}", h2c.port))]);
    for _ in 0..2 {
        let reply = souk.get(&format!("/api/outbound?url=http://127.0.0.1:{}/", h2c.port));
        assert_eq!((reply.status, reply.body.as_str()), (200, "status=200\nsecret HTTP/2.0"));
    }
    assert_eq!(h2c.connections.load(Ordering::SeqCst), 1, "one HTTP/2 connection carried both");
    let reply = souk.get(&format!("/web/outbound?url=http://127.0.0.1:{}/", other.port));
    assert_eq!((reply.status, reply.body.as_str()), (200, "status=200\nsecret HTTP/1.1"), "any other authority stays HTTP/1.1");
}
