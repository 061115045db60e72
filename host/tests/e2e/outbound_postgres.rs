//! Outbound PostgreSQL on a real server: `spin:postgres@4.2.0` (spin-sdk 7,
//! through its `*-async` functions and the synchronous ones 4.0.0 guests
//! call), `spin:postgres@3.0.0` and `fermyon:spin/postgres@2.0.0` (a Spin 3
//! SDK module); every type the interface names, written through parameters
//! and read back; addresses checked against `allowed_outbound_hosts`.

use crate::harness::AppDir;
use crate::servers::PostgresServer;
use crate::test_ca::TestCa;

fn app(server: &PostgresServer) -> AppDir {
    let port = server.port;
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "postgres"
[[trigger.http]]
route = "/allowed/..."
component = "allowed"
[[trigger.http]]
route = "/other-port/..."
component = "other-port"
[[trigger.http]]
route = "/none/..."
component = "none"
[[trigger.http]]
route = "/spin2/..."
component = "spin2"
[component.allowed]
source = "{{guest}}"
allowed_outbound_hosts = ["postgres://127.0.0.1:{port}"]
[component.other-port]
source = "{{guest}}"
allowed_outbound_hosts = ["postgres://127.0.0.1:{}"]
[component.none]
source = "{{guest}}"
[component.spin2]
source = "{{spin3}}"
allowed_outbound_hosts = ["postgres://127.0.0.1:{port}"]
"#,
        port + 1
    ))
}

#[test]
fn every_type_round_trips_through_spin_postgres_4() {
    let server = PostgresServer::start();
    let app = app(&server);
    let souk = app.up();
    let reply = souk.get(&format!("/allowed/pg?addr={}&table=t4", server.url()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let expected = EXPECTED_V4;
    for (got, want) in reply.body.lines().zip(expected.lines()) {
        assert_eq!(got, want);
    }
    assert_eq!(reply.body.lines().count(), expected.lines().count(), "{}", reply.body);

    // What the guest wrote, read by the test's own client.
    assert_eq!(
        server.sql("SELECT n, t, c, j->'a', r4, r8, rn, a4, an, at, iv, tz FROM t4 WHERE id = 1"),
        "12345678901234.5678|héllo|ab   |[1, 2]|[4,8)|[10000000000,)|(,2.5)|{1,NULL,3}|{0.1,NULL}|{x,\"y z\"}|1 year 2 mons 5 days 01:02:03.000004|1970-01-02 00:00:00+00"
    );

    // The synchronous functions of the same interface (what 4.0.0 and 4.1.0 guests call).
    let reply = souk.get(&format!("/allowed/pg-sync?addr={}&table=t4", server.url()));
    assert_eq!((reply.status, reply.body.as_str()), (200, "updated 1: int32 1|str \"sync\"; int32 2|null"));
}

/// Row 1 as written (the int4 range normalised to `[4,8)`, jsonb in its
/// canonical text), row 2 all NULL but for the point (a type the interface
/// has no variant for), then each error as the guest told it apart.
const EXPECTED_V4: &str = "\
inserted 1\n\
id:DbDataType::Int32=int32 1\n\
i2:DbDataType::Int16=int16 -2\n\
i8:DbDataType::Int64=int64 3\n\
f4:DbDataType::Floating32=f32 1.5\n\
f8:DbDataType::Floating64=f64 2.25\n\
n:DbDataType::Decimal=decimal 12345678901234.5678\n\
t:DbDataType::Str=str \"héllo\"\n\
c:DbDataType::Str=str \"ab   \"\n\
b:DbDataType::Binary=binary [0, 1, 255]\n\
bo:DbDataType::Boolean=bool true\n\
d:DbDataType::Date=date 2024-2-29\n\
tm:DbDataType::Time=time 23:59:58.123000000\n\
ts:DbDataType::Datetime=datetime 1999-12-31 23:59:59.500000000\n\
tz:DbDataType::Datetime=datetime 1970-1-2 0:0:0.0\n\
u:DbDataType::Uuid=uuid fedcba98-fedc-fedc-fedc-fedcba987654\n\
j:DbDataType::Jsonb=jsonb {\"a\": [1, 2], \"b\": null}\n\
r4:DbDataType::RangeInt32=range-int32 [4,8)\n\
r8:DbDataType::RangeInt64=range-int64 [10000000000,)\n\
rn:DbDataType::RangeDecimal=range-decimal (,2.5)\n\
a4:DbDataType::ArrayInt32=array-int32 [1,null,3]\n\
a8:DbDataType::ArrayInt64=array-int64 [1099511627776]\n\
an:DbDataType::ArrayDecimal=array-decimal [0.1,null]\n\
at:DbDataType::ArrayStr=array-str [x,y z]\n\
iv:DbDataType::Interval=interval 14mo 5d 3723000004us\n\
p:DbDataType::Other(\"point\")=null\n\
id:DbDataType::Int32=int32 2\n\
i2:DbDataType::Int16=null\n\
i8:DbDataType::Int64=null\n\
f4:DbDataType::Floating32=null\n\
f8:DbDataType::Floating64=null\n\
n:DbDataType::Decimal=null\n\
t:DbDataType::Str=null\n\
c:DbDataType::Str=null\n\
b:DbDataType::Binary=null\n\
bo:DbDataType::Boolean=null\n\
d:DbDataType::Date=null\n\
tm:DbDataType::Time=null\n\
ts:DbDataType::Datetime=null\n\
tz:DbDataType::Datetime=null\n\
u:DbDataType::Uuid=null\n\
j:DbDataType::Jsonb=null\n\
r4:DbDataType::RangeInt32=null\n\
r8:DbDataType::RangeInt64=null\n\
rn:DbDataType::RangeDecimal=null\n\
a4:DbDataType::ArrayInt32=null\n\
a8:DbDataType::ArrayInt64=null\n\
an:DbDataType::ArrayDecimal=null\n\
at:DbDataType::ArrayStr=null\n\
iv:DbDataType::Interval=null\n\
p:DbDataType::Other(\"point\")=unsupported 16 bytes\n\
wrong type: bad-parameter: a str parameter cannot be sent for a column of type int4\n\
duplicate: query-failed: db-error 23505 duplicate key value violates unique constraint \"t4_pkey\"\n\
missing table: query-failed: db-error 42P01 relation \"no_such_table\" does not exist\n\
special: range-int32 (0,0) | decimal NaN | decimal 10000000000000000000000000000000000000000\n\
";

#[test]
fn spin2_and_spin3_guests_reach_the_same_server() {
    let server = PostgresServer::start();
    let app = app(&server);
    let souk = app.up();
    let reply = souk.get(&format!("/spin2/pg2?addr={}&table=t2", server.url()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    // rdbms-types has no date: the column's type is `other`, a date `unsupported`.
    assert_eq!(
        reply.body,
        "inserted 1\nid:DbDataType::Int32=int32 1\nname:DbDataType::Str=str \"one\"\nbig:DbDataType::Int64=int64 4000000000\nok:DbDataType::Boolean=bool false\ndata:DbDataType::Binary=binary [7, 8]\nd:DbDataType::Other=null\nid:DbDataType::Int32=int32 2\nname:DbDataType::Str=null\nbig:DbDataType::Int64=null\nok:DbDataType::Boolean=null\ndata:DbDataType::Binary=null\nd:DbDataType::Other=unsupported\nmissing table: Error::QueryFailed(\"ERROR: relation \\\"no_such_table\\\" does not exist\nu64::MAX: Error::BadParameter(\"uint64 parameter 18446744073709551615 does not fit PostgreSQL's bigint\")\n"
    );
    let reply = souk.get(&format!("/spin2/pg3?addr={}&table=t3", server.url()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    // spin:postgres@3.0.0 has dates and times but no UUID.
    assert_eq!(
        reply.body,
        "id:DbDataType::Int32=int32 1\nd:DbDataType::Date=date 2024-2-29\nt:DbDataType::Time=time 1:2:3.4000\nts:DbDataType::Datetime=datetime 1970-1-1 0:0:0.0\nu:DbDataType::Other=null\nid:DbDataType::Int32=int32 2\nd:DbDataType::Date=null\nt:DbDataType::Time=null\nts:DbDataType::Datetime=null\nu:DbDataType::Other=unsupported\n"
    );
}

#[test]
fn addresses_outside_allowed_outbound_hosts_are_refused() {
    let server = PostgresServer::start();
    let app = app(&server);
    let souk = app.up();
    let refused = format!("connection-failed: address postgres://127.0.0.1:{} is not permitted by allowed_outbound_hosts", server.port);
    for component in ["none", "other-port"] {
        let reply = souk.get(&format!("/{component}/pg?addr={}&table=refused", server.url()));
        assert_eq!((reply.status, reply.body.as_str()), (409, refused.as_str()), "{component}");
    }
    // The key-value form of an address is checked the same way.
    let reply = souk.get(&format!("/none/pg?addr=host%3D127.0.0.1%20port%3D{}%20user%3Dpostgres&table=refused", server.port));
    assert_eq!((reply.status, reply.body.as_str()), (409, refused.as_str()));
    let reply = souk.get("/allowed/pg?addr=not%20an%20address&table=refused");
    assert_eq!(reply.status, 409);
    assert!(reply.body.starts_with("connection-failed: `not an address` is not a PostgreSQL address"), "{}", reply.body);
    assert_eq!(server.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'refused'"), "0");
}

/// `addr` as a query parameter's value.
fn encoded(addr: &str) -> String {
    addr.replace('%', "%25").replace('?', "%3F").replace('=', "%3D").replace('&', "%26").replace(' ', "%20").replace('#', "%23")
}

/// TLS as Spin has it: `sslmode=disable` in the clear, `prefer` (the
/// default) and `require` over TLS when the server offers it, the server's
/// certificate checked against the system's roots (here `SSL_CERT_FILE`) or
/// the CA root the guest gives; an untrusted server is refused, never used
/// unchecked.
#[test]
fn tls_connections_trust_the_systems_roots_or_the_guests_ca_root() {
    let ca = TestCa::new();
    let server = PostgresServer::start_tls(&ca);
    let app = AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "postgres-tls"
[[trigger.http]]
route = "/..."
component = "db"
[component.db]
source = "{{guest}}"
allowed_outbound_hosts = ["postgres://127.0.0.1:{}"]
files = [{{ source = "certs", destination = "/certs" }}]
"#,
        server.port
    ));
    app.write("certs/ca.pem", &std::fs::read_to_string(ca.root()).unwrap());
    app.write("certs/bad.pem", "not a certificate");
    let url = server.url();
    let get = |souk: &crate::harness::Souk, addr: &str, ca: &str| souk.get(&format!("/pg-ssl?addr={}&ca={ca}", encoded(addr)));

    // Trusted by the system (SSL_CERT_FILE, as OpenSSL-based hosts read it).
    let root = ca.root().display().to_string();
    let trusting = app.up_with(&[], &[("SSL_CERT_FILE", &root)]);
    for addr in [format!("{url}?sslmode=require"), url.clone()] {
        let reply = get(&trusting, &addr, "");
        assert_eq!(reply.status, 200, "{addr}: {}", reply.body);
        assert!(reply.body.starts_with("ssl true TLSv1."), "{addr}: {}", reply.body);
    }
    let reply = get(&trusting, &format!("{url}?sslmode=disable"), "");
    assert_eq!((reply.status, reply.body.as_str()), (200, "ssl false null"));
    drop(trusting);

    // With blocked networks souk makes each connection itself, to an
    // address it checked: TLS and the name check are the same.
    app.write("elsewhere.toml", "[outbound_networking]\nblock_networks = [\"192.0.2.0/24\"]\n");
    let config = app.path().join("elsewhere.toml").display().to_string();
    let checked = app.up_with(&["--runtime-config-file", &config], &[("SSL_CERT_FILE", &root)]);
    for (addr, answer) in
        [(format!("{url}?sslmode=require"), "ssl true TLSv1."), (url.clone(), "ssl true TLSv1."), (format!("{url}?sslmode=disable"), "ssl false null")]
    {
        let reply = get(&checked, &addr, "");
        assert!(reply.status == 200 && reply.body.starts_with(answer), "{addr}: {} {}", reply.status, reply.body);
    }
    drop(checked);

    // Not trusted by the system: refused, naming the certificate, under
    // `require` and `prefer` alike; trusted through the guest's CA root.
    let plain = app.up();
    for addr in [format!("{url}?sslmode=require"), url.clone()] {
        let reply = get(&plain, &addr, "");
        assert_eq!(reply.status, 409, "{addr}: {}", reply.body);
        assert!(reply.body.starts_with("connection-failed: cannot connect to"), "{addr}: {}", reply.body);
        assert!(reply.body.contains("certificate"), "{addr}: {}", reply.body);
    }
    let reply = get(&plain, &format!("{url}?sslmode=require"), "/certs/ca.pem");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.starts_with("ssl true TLSv1."), "{}", reply.body);
    // A CA root that is not a certificate is refused, saying so.
    let reply = get(&plain, &url, "/certs/bad.pem");
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.contains("the CA root holds no certificate"), "{}", reply.body);
}
