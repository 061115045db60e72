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
