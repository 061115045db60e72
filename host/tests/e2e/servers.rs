//! Real servers the tests start: each on a free loopback port with its
//! data in a scratch folder, stopped when dropped. A server that is not
//! installed fails the test, naming the package (`.ci/run` installs it).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::wait_until;
use crate::test_ca::TestCa;
use crate::token_service::{self, TokenService};

pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// The port served over TLS only, for a server started with a CA.
    pub tls_port: Option<u16>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(None)
    }

    /// A server with a second port, served over TLS with a certificate of `ca`.
    pub fn start_tls(ca: &TestCa) -> RedisServer {
        Self::start_with(Some(ca))
    }

    fn start_with(ca: Option<&TestCa>) -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new("redis-server");
        command.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]).arg("--dir").arg(dir.path());
        let tls_port = ca.map(|ca| {
            let tls_port = free_port();
            command.args(["--tls-port", &tls_port.to_string(), "--tls-auth-clients", "no"]);
            command.arg("--tls-cert-file").arg(ca.server_cert()).arg("--tls-key-file").arg(ca.server_key()).arg("--tls-ca-cert-file").arg(ca.root());
            tls_port
        });
        let child = command
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): install Debian's redis-server package (.ci/run does)"));
        let server = RedisServer { child, port, tls_port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.ping().is_err() {
            assert!(Instant::now() < deadline, "redis-server did not answer on port {port} within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Whether the server answers yet; a connection it resets while it
    /// starts is a "not yet", not a failure.
    fn ping(&self) -> redis::RedisResult<()> {
        let _ = TcpStream::connect(("127.0.0.1", self.port))?;
        let mut conn = redis::Client::open(self.url())?.get_connection()?;
        redis::cmd("PING").query::<String>(&mut conn).map(drop)
    }

    /// A connection of the test's own, to check what the guest did.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }

    /// How many connections the server has accepted so far (the test's own included).
    pub fn connections_received(&self) -> u64 {
        let info: String = redis::cmd("INFO").arg("stats").query(&mut self.client()).unwrap();
        info.lines().find_map(|l| l.strip_prefix("total_connections_received:")).unwrap().trim().parse().unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Mosquitto broker allowing anonymous clients on one loopback port.
pub struct MqttBroker {
    child: Child,
    pub port: u16,
    /// A second listener, over TLS only, for a broker started with a CA.
    pub tls_port: Option<u16>,
    _dir: tempfile::TempDir,
}

impl MqttBroker {
    pub fn start() -> MqttBroker {
        Self::start_with(None)
    }

    /// A broker with a second listener, over TLS with a certificate of `ca`.
    pub fn start_tls(ca: &TestCa) -> MqttBroker {
        Self::start_with(Some(ca))
    }

    fn start_with(ca: Option<&TestCa>) -> MqttBroker {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("mosquitto.conf");
        // As root, Mosquitto would become its own user, who cannot read the scratch key.
        let mut text = format!("user root\nallow_anonymous true\npersistence false\nlistener {port} 127.0.0.1\n");
        let tls_port = ca.map(|ca| {
            let tls_port = free_port();
            let (root, cert, key) = (ca.root(), ca.server_cert(), ca.server_key());
            text.push_str(&format!("listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n", root.display(), cert.display(), key.display()));
            tls_port
        });
        std::fs::write(&config, text).unwrap();
        // Debian puts it in /usr/sbin, which not every PATH holds.
        let program = if std::path::Path::new("/usr/sbin/mosquitto").exists() { "/usr/sbin/mosquitto" } else { "mosquitto" };
        let child = Command::new(program)
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto ({e}): install Debian's mosquitto package (.ci/run does)"));
        let broker = MqttBroker { child, port, tls_port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() || tls_port.is_some_and(|p| TcpStream::connect(("127.0.0.1", p)).is_err()) {
            assert!(Instant::now() < deadline, "mosquitto did not listen on port {port} within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        broker
    }

    pub fn url(&self, client_id: &str) -> String {
        format!("mqtt://127.0.0.1:{}?client_id={client_id}", self.port)
    }

    /// A subscriber of the test's own on `topic`, subscribed (the broker
    /// acknowledged it) when this returns: messages published after it
    /// come out of the receiver.
    pub fn subscribe(&self, topic: &str) -> std::sync::mpsc::Receiver<Vec<u8>> {
        use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
        let mut options = MqttOptions::new(format!("test-{topic}"), "127.0.0.1", self.port);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut connection) = Client::new(options, 16);
        client.subscribe(topic, QoS::AtLeastOnce).unwrap();
        let (subscribed_tx, subscribed) = std::sync::mpsc::channel();
        let (messages_tx, messages) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _client = client;
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => drop(subscribed_tx.send(())),
                    Ok(Event::Incoming(Packet::Publish(p))) if messages_tx.send(p.payload.to_vec()).is_err() => break,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        subscribed.recv_timeout(Duration::from_secs(20)).expect("the broker never acknowledged the test's subscription");
        messages
    }
}

impl Drop for MqttBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the tests run as root, where database servers refuse to: they
/// then run as the server's own system user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// The uid and gid of a system user, from /etc/passwd.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name)).then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
    })
}

/// A PostgreSQL server (Debian's `postgresql` package) on one loopback
/// port, trusting local connections, its cluster in a scratch folder.
pub struct PostgresServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl PostgresServer {
    pub fn start() -> PostgresServer {
        Self::start_with(None)
    }

    /// A server that also offers TLS (`ssl = on`), with a certificate of `ca`.
    pub fn start_tls(ca: &TestCa) -> PostgresServer {
        Self::start_with(Some(ca))
    }

    fn start_with(ca: Option<&TestCa>) -> PostgresServer {
        use std::os::unix::process::CommandExt;
        // Debian installs the server binaries under a versioned folder.
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| versions.filter_map(|v| v.ok()).map(|v| v.path().join("bin")).filter(|b| b.join("postgres").exists()).max())
            .expect("no PostgreSQL server under /usr/lib/postgresql: install Debian's postgresql package (.ci/run does)");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = free_port();
        let user =
            if running_as_root() { Some(system_user("postgres").expect("the postgres system user (made by Debian's postgresql package)")) } else { None };
        let as_user = |command: &mut Command| {
            if let Some((uid, gid)) = user {
                command.uid(uid).gid(gid);
            }
        };
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]).stdout(Stdio::null());
        as_user(&mut initdb);
        let status = initdb.status().expect("cannot run initdb");
        assert!(status.success(), "initdb failed: {status}");
        let mut server = Command::new(bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c"])
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(ca) = ca {
            // PostgreSQL reads a key only if its own user owns it, unreadable to others.
            use std::os::unix::fs::PermissionsExt;
            let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
            std::fs::copy(ca.server_cert(), &cert).unwrap();
            std::fs::copy(ca.server_key(), &key).unwrap();
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
            if let Some((uid, gid)) = user {
                std::os::unix::fs::chown(&cert, Some(uid), Some(gid)).unwrap();
                std::os::unix::fs::chown(&key, Some(uid), Some(gid)).unwrap();
            }
            server.args(["-c", "ssl=on", "-c"]).arg(format!("ssl_cert_file={}", cert.display())).arg("-c").arg(format!("ssl_key_file={}", key.display()));
        }
        as_user(&mut server);
        let child = server.spawn().expect("cannot start postgres");
        let server = PostgresServer { child, port, _dir: dir };
        wait_until(&format!("PostgreSQL answering on port {port}"), || server.try_sql("SELECT 1").is_ok());
        server
    }

    /// The address a guest connects with, in URL form.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn try_sql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .map_err(|e| format!("cannot run psql ({e}): install Debian's postgresql-client package (.ci/run installs postgresql)"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs `sql` with the test's own client (psql); rows as lines, values
    /// joined by `|`.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("psql `{sql}`: {e}"))
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A MariaDB server (Debian's `mariadb-server` package) on one loopback
/// port, with a user `souk` (password `souk`) owning a database `souk`.
pub struct MariadbServer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl MariadbServer {
    pub fn start() -> MariadbServer {
        Self::start_with(None)
    }

    /// A server that accepts TCP clients over TLS only
    /// (`require_secure_transport`), with a certificate of `ca`.
    pub fn start_tls(ca: &TestCa) -> MariadbServer {
        Self::start_with(Some(ca))
    }

    fn start_with(ca: Option<&TestCa>) -> MariadbServer {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // A temporary folder of its own: a starting server removes every
        // `#sql*` file in its temporary folder, which in a shared /tmp
        // includes those of another server being set up at the same time.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let port = free_port();
        let root = running_as_root();
        let mut install = Command::new("mariadb-install-db");
        install.arg("--no-defaults").arg(format!("--datadir={}", data.display())).args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        install.env("TMPDIR", &tmp);
        if root {
            install.arg("--user=root");
        }
        let out = install.output().unwrap_or_else(|e| panic!("cannot run mariadb-install-db ({e}): install Debian's mariadb-server package (.ci/run does)"));
        assert!(out.status.success(), "mariadb-install-db failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut server = Command::new("/usr/sbin/mariadbd");
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.path().join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.path().join("mysqld.pid").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([&format!("--port={port}"), "--bind-address=127.0.0.1", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if root {
            server.arg("--user=root");
        }
        if let Some(ca) = ca {
            server.arg(format!("--ssl-cert={}", ca.server_cert().display())).arg(format!("--ssl-key={}", ca.server_key().display()));
            server.arg(format!("--ssl-ca={}", ca.root().display())).arg("--require-secure-transport=ON");
        }
        let child = server.spawn().expect("cannot start mariadbd");
        let server = MariadbServer { child, port, dir };
        wait_until(&format!("MariaDB answering on port {port}"), || server.try_root_sql("SELECT 1").is_ok());
        server.root_sql("CREATE DATABASE souk; CREATE USER 'souk'@'%' IDENTIFIED BY 'souk'; GRANT ALL ON souk.* TO 'souk'@'%';");
        server
    }

    pub fn url(&self) -> String {
        format!("mysql://souk:souk@127.0.0.1:{}/souk", self.port)
    }

    /// Statements as the server's root user, over its socket.
    fn try_root_sql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("mariadb")
            .arg(format!("--socket={}", self.dir.path().join("mysqld.sock").display()))
            .args(["-uroot", "-N", "-B", "-e", sql])
            .output()
            .map_err(|e| format!("cannot run mariadb ({e})"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs `sql` with the test's own client; rows as lines, values
    /// separated by tabs.
    pub fn root_sql(&self, sql: &str) -> String {
        self.try_root_sql(sql).unwrap_or_else(|e| panic!("mariadb `{sql}`: {e}"))
    }
}

impl Drop for MariadbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium (Debian's `chromium` package) with its DevTools
/// protocol on a free loopback port and its profile in a scratch folder;
/// the browser tests drive it over [`Chromium::websocket`]. It runs in a
/// process group of its own, which is killed whole when this is dropped
/// (the browser's helper processes too).
pub struct Chromium {
    child: Child,
    pub websocket: String,
    _dir: tempfile::TempDir,
}

impl Chromium {
    pub fn start() -> Chromium {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let program = std::env::var("SOUK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let child = Command::new(&program)
            // Port 0: Chromium picks a free port and writes it to DevToolsActivePort in the profile.
            .args(["--headless", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"])
            // Root in a container has no user namespaces for the sandbox; /dev/shm may be tiny.
            .args(["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions"])
            .arg(format!("--user-data-dir={}", dir.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} ({e}): install Debian's chromium package (.ci/run does)"));
        let mut browser = Chromium { child, websocket: String::new(), _dir: dir };
        let active_port = browser._dir.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&active_port) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    browser.websocket = format!("ws://127.0.0.1:{port}{path}");
                    let port: u16 = port.trim().parse().expect("DevToolsActivePort names a port");
                    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        return browser;
                    }
                }
            }
            if let Ok(Some(status)) = browser.child.try_wait() {
                panic!("{program} exited ({status}) before it listened: is Debian's chromium package installed (.ci/run does)?");
            }
            assert!(Instant::now() < deadline, "chromium did not open its DevTools port within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The whole group: the wrapper script, the browser and its helpers.
        let _ = Command::new("kill").args(["-s", "KILL", "--"]).arg(format!("-{}", self.child.id())).status();
        let _ = self.child.wait();
    }
}

/// A Prometheus server (Debian's `prometheus` package) scraping one target
/// every second, its data in a scratch folder.
pub struct PrometheusServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Scrapes `target` (`host:port`, path `/metrics`) as job `souk`.
    pub fn start(target: &str) -> PrometheusServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: souk\n    static_configs:\n      - targets: ['{target}']\n"),
        )
        .unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start prometheus ({e}): install Debian's prometheus package (.ci/run does)"));
        let server = PrometheusServer { child, port, _dir: dir };
        wait_until(&format!("Prometheus ready on port {port}"), || {
            ureq::get(&format!("http://127.0.0.1:{port}/-/ready")).call().is_ok_and(|r| r.status() == 200)
        });
        server
    }

    /// The first value of an instant query through Prometheus' HTTP API, if
    /// the query has a result yet.
    pub fn query(&self, promql: &str) -> Option<f64> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let mut response = ureq::get(&url).query("query", promql).call().ok()?;
        let body: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()?;
        assert_eq!(body["status"], "success", "{promql}: {body}");
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OCI registry (Debian's `docker-registry`, the CNCF distribution
/// server), plain HTTP on loopback, its storage in a scratch folder.
pub struct RegistryServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// Who a test registry lets in.
#[derive(Clone, Copy)]
enum RegistryAuth<'a> {
    Open,
    /// TLS with the CA's server certificate, and HTTP Basic with an htpasswd file.
    Password(&'a TestCa, &'a str, &'a str),
    /// Bearer tokens from a token service, signed by the CA's server key.
    Tokens(&'a TestCa, &'a TokenService),
}

impl RegistryServer {
    pub fn start() -> RegistryServer {
        Self::start_with(RegistryAuth::Open)
    }

    /// A registry served over TLS with a certificate of `ca`, that lets in
    /// only `user` with `password` (HTTP Basic, an htpasswd file).
    pub fn start_secured(ca: &TestCa, user: &str, password: &str) -> RegistryServer {
        Self::start_with(RegistryAuth::Password(ca, user, password))
    }

    /// A registry (plain HTTP) that lets in only the bearers of `tokens`'
    /// tokens, which it checks against `ca`'s root.
    pub fn start_with_tokens(ca: &TestCa, tokens: &TokenService) -> RegistryServer {
        Self::start_with(RegistryAuth::Tokens(ca, tokens))
    }

    fn start_with(auth: RegistryAuth) -> RegistryServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("config.yml");
        let storage = dir.path().join("storage");
        let mut yaml =
            format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n", storage.display());
        match auth {
            RegistryAuth::Open => {}
            RegistryAuth::Password(ca, user, password) => {
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{user}:{}\n", bcrypt_hash(password))).unwrap();
                yaml += &format!("  tls:\n    certificate: {}\n    key: {}\n", ca.server_cert().display(), ca.server_key().display());
                yaml += &format!("auth:\n  htpasswd:\n    realm: souk-test\n    path: {}\n", htpasswd.display());
            }
            RegistryAuth::Tokens(ca, tokens) => {
                yaml += &format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    tokens.realm,
                    token_service::SERVICE,
                    token_service::ISSUER,
                    ca.root().display()
                );
            }
        }
        let tls = matches!(auth, RegistryAuth::Password(..));
        std::fs::write(&config, yaml).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start docker-registry ({e}): install Debian's docker-registry package (.ci/run does)"));
        let server = RegistryServer { child, port, _dir: dir };
        // Open: `/v2/` answers 200. Otherwise any answer (401 without credentials).
        wait_until(&format!("the registry answering on port {port}"), || match (&auth, tls) {
            (RegistryAuth::Open, _) => ureq::get(&format!("http://127.0.0.1:{port}/v2/")).call().is_ok_and(|r| r.status() == 200),
            (_, true) => TcpStream::connect(("127.0.0.1", port)).is_ok(),
            (_, false) => {
                ureq::get(&format!("http://127.0.0.1:{port}/v2/")).config().http_status_as_error(false).build().call().is_ok_and(|r| r.status() == 401)
            }
        });
        server
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// GET of a registry API path (`/v2/...`), with `accept`; the body.
    pub fn get(&self, path: &str, accept: &str) -> Vec<u8> {
        let mut response =
            ureq::get(&format!("http://127.0.0.1:{}{path}", self.port)).header("Accept", accept).call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
        response.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap()
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bcrypt hash of `password` for an htpasswd file, made by the system's
/// crypt(3) through Python (`$2a$`, the form the registry reads), at the
/// lowest cost: the registry checks it on every request.
fn bcrypt_hash(password: &str) -> String {
    let script = "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))";
    let out = Command::new("python3").args(["-W", "ignore", "-c", script, password]).output().expect("python3 runs");
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$2"), "no bcrypt hash from crypt(3): {hash:?} {}", String::from_utf8_lossy(&out.stderr));
    hash.replacen("$2b$", "$2a$", 1)
}
