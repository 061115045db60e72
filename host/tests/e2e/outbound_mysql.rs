//! Outbound MySQL on a real MariaDB server: `spin:mysql@3.0.0` (spin-sdk 7)
//! and `fermyon:spin/mysql@2.0.0` (a Spin 3 SDK module); values of every
//! kind written through parameters and read back; addresses checked
//! against `allowed_outbound_hosts`.

use crate::harness::AppDir;
use crate::servers::MariadbServer;
use crate::test_ca::TestCa;

fn app(server: &MariadbServer) -> AppDir {
    let port = server.port;
    AppDir::new(&format!(
        r#"
spin_manifest_version = 2
[application]
name = "mysql"
[[trigger.http]]
route = "/allowed/..."
component = "allowed"
[[trigger.http]]
route = "/none/..."
component = "none"
[[trigger.http]]
route = "/spin2/..."
component = "spin2"
[component.allowed]
source = "{{guest}}"
allowed_outbound_hosts = ["mysql://127.0.0.1:{port}"]
[component.none]
source = "{{guest}}"
allowed_outbound_hosts = ["mysql://127.0.0.1:{}"]
[component.spin2]
source = "{{spin3}}"
allowed_outbound_hosts = ["mysql://127.0.0.1:{port}"]
"#,
        port + 1
    ))
}

#[test]
fn values_round_trip_through_spin_mysql_3_and_fermyon_mysql_2() {
    let server = MariadbServer::start();
    let app = app(&server);
    let souk = app.up();
    let reply = souk.get(&format!("/allowed/mysql?addr={}&table=t3", server.url()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Integers by width and sign, binary strings as binary, decimals, dates
    // and JSON as the server's text; row 2 all NULL; then the server's errors.
    assert_eq!(
        reply.body,
        "id:DbDataType::Int32=int32 1\nt8:DbDataType::Int8=int8 -8\nu8:DbDataType::Uint8=uint8 200\ni16:DbDataType::Int16=int16 -300\ni32:DbDataType::Int32=int32 70000\ni64:DbDataType::Int64=int64 -1099511627776\nu64:DbDataType::Uint64=uint64 18446744073709551615\nf4:DbDataType::Floating32=f32 1.5\nf8:DbDataType::Floating64=f64 -2.25\ns:DbDataType::Str=str \"héllo\"\nb:DbDataType::Binary=binary [0, 1, 255]\nn:DbDataType::Str=str \"1234.500\"\nd:DbDataType::Str=str \"2024-02-29\"\ndt:DbDataType::Str=str \"1999-12-31 23:59:59.250000\"\nj:DbDataType::Str=str \"{\\\"a\\\": 1}\"\nid:DbDataType::Int32=int32 2\nt8:DbDataType::Int8=null\nu8:DbDataType::Uint8=null\ni16:DbDataType::Int16=null\ni32:DbDataType::Int32=null\ni64:DbDataType::Int64=null\nu64:DbDataType::Uint64=null\nf4:DbDataType::Floating32=null\nf8:DbDataType::Floating64=null\ns:DbDataType::Str=null\nb:DbDataType::Binary=null\nn:DbDataType::Str=null\nd:DbDataType::Str=null\ndt:DbDataType::Str=null\nj:DbDataType::Str=null\nduplicate: query-failed: Server error: `ERROR 1062 (23000): Duplicate entry '1' for key 'PRIMARY''\nmissing table: query-failed: Server error: `ERROR 1146 (42S02): Table 'souk.no_such_table' doesn't exist'\n"
    );
    assert_eq!(
        server.root_sql("SELECT s, HEX(b), n, dt, u64 FROM souk.t3 WHERE id = 1"),
        "héllo\t0001FF\t1234.500\t1999-12-31 23:59:59.250000\t18446744073709551615"
    );

    let reply = souk.get(&format!("/spin2/mysql?addr={}&table=t2", server.url()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        "id:DbDataType::Int32=int32 1\nname:DbDataType::Str=str \"one\"\nbig:DbDataType::Uint64=uint64 18446744073709551615\nsmall:DbDataType::Int8=int8 -1\nmissing table: true\n"
    );
}

#[test]
fn addresses_outside_allowed_outbound_hosts_are_refused() {
    let server = MariadbServer::start();
    let app = app(&server);
    let souk = app.up();
    let reply = souk.get(&format!("/none/mysql?addr={}&table=refused", server.url()));
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (409, format!("connection-failed: address mysql://127.0.0.1:{} is not permitted by allowed_outbound_hosts", server.port).as_str())
    );
    assert_eq!(server.root_sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'refused'"), "0");
}

/// TLS when the address asks for it (`require_ssl=true`), the server's
/// certificate checked against the system's roots (here `SSL_CERT_FILE`):
/// a server that takes TLS clients only is reached that way, refused when
/// its certificate is not trusted, and refuses an address without TLS.
#[test]
fn require_ssl_connects_over_tls_to_a_server_the_system_trusts() {
    let ca = TestCa::new();
    let server = MariadbServer::start_tls(&ca);
    let app = app(&server);
    let tls = format!("{}%3Frequire_ssl%3Dtrue", server.url());
    let root = ca.root().display().to_string();
    let trusting = app.up_with(&[], &[("SSL_CERT_FILE", &root)]);
    let reply = trusting.get(&format!("/allowed/mysql?addr={tls}&table=t3"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.starts_with("id:DbDataType::Int32=int32 1\n"), "{}", reply.body);
    assert_eq!(server.root_sql("SELECT s FROM souk.t3 WHERE id = 1"), "héllo");
    // Without TLS this server lets no one in (MariaDB answers "access
    // denied" to the same user and password it took over TLS).
    let reply = trusting.get(&format!("/allowed/mysql?addr={}&table=plain", server.url()));
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.starts_with("connection-failed: cannot connect to"), "{}", reply.body);
    drop(trusting);

    // With blocked networks the pool connects only to the addresses souk
    // checked (TLS still checks the name); a blocked one is refused.
    app.write("elsewhere.toml", "[outbound_networking]\nblock_networks = [\"192.0.2.0/24\"]\n");
    let config = app.path().join("elsewhere.toml").display().to_string();
    let checked = app.up_with(&["--runtime-config-file", &config], &[("SSL_CERT_FILE", &root)]);
    let reply = checked.get(&format!("/allowed/mysql?addr={tls}&table=t4"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    drop(checked);
    app.write("private.toml", "[outbound_networking]\nblock_networks = [\"private\"]\n");
    let config = app.path().join("private.toml").display().to_string();
    let blocked = app.up_with(&["--runtime-config-file", &config], &[("SSL_CERT_FILE", &root)]);
    let reply = blocked.get(&format!("/allowed/mysql?addr={tls}&table=t5"));
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.contains("in a network the runtime config blocks"), "{}", reply.body);
    drop(blocked);
    assert_eq!(server.root_sql("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('t4', 't5')"), "1");

    let untrusting = app.up();
    let reply = untrusting.get(&format!("/allowed/mysql?addr={tls}&table=untrusted"));
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.starts_with("connection-failed: cannot connect to"), "{}", reply.body);
    assert!(reply.body.contains("certificate"), "{}", reply.body);
    assert_eq!(server.root_sql("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('plain', 'untrusted')"), "0");
}
