//! Real servers the tests start: each on a free loopback port with its
//! data in a scratch folder, stopped when dropped. A server that is not
//! installed fails the test, naming the package (`.ci/run` installs it).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): install Debian's redis-server package (.ci/run does)"));
        let server = RedisServer { child, port, _dir: dir };
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

    fn ping(&self) -> redis::RedisResult<()> {
        let _ = TcpStream::connect(("127.0.0.1", self.port))?;
        redis::cmd("PING").query::<String>(&mut self.client()).map(drop)
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
    _dir: tempfile::TempDir,
}

impl MqttBroker {
    pub fn start() -> MqttBroker {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("mosquitto.conf");
        std::fs::write(&config, format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")).unwrap();
        // Debian puts it in /usr/sbin, which not every PATH holds.
        let program = if std::path::Path::new("/usr/sbin/mosquitto").exists() { "/usr/sbin/mosquitto" } else { "mosquitto" };
        let child = Command::new(program)
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto ({e}): install Debian's mosquitto package (.ci/run does)"));
        let broker = MqttBroker { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
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
