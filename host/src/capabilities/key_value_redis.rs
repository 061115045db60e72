//! A `type = "redis"` key-value store (`[key_value_store.<label>] type =
//! "redis" url = "redis://..."`), as Spin serves one: each key is a Redis
//! string key, so several replicas of the app (or other programs) share the
//! store. The connection is the app's shared one for that address
//! (`outbound_redis::RedisClients`), opened at first use.
//!
//! As in Spin, `wasi:keyvalue` `increment` is Redis's `INCRBY`: the number
//! is stored as decimal text, not as the 8 little-endian bytes a `spin`
//! store keeps. `compare-and-swap` is one Lua script, so no other client's
//! write can fall between the check and the write.

use std::sync::Arc;

use redis::{IntoConnectionInfo, Value};

use super::outbound_redis::RedisClients;
use super::redis_link::RedisLink;

pub struct RedisStore {
    url: String,
    client: redis::Client,
    clients: Arc<RedisClients>,
}

/// Writes ARGV[3] at KEYS[1] if it holds ARGV[2] (ARGV[1] = "1": if it is
/// absent); else answers {0, what it holds}.
const COMPARE_AND_SWAP: &str = r#"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return {0, current} end
elseif (not current) or current ~= ARGV[2] then
  return {0, current}
end
redis.call('SET', KEYS[1], ARGV[3])
return {1}
"#;

impl RedisStore {
    /// Checks the URL; connects at first use.
    pub fn new(url: &str, clients: Arc<RedisClients>) -> Result<Self, String> {
        let info = url.into_connection_info().map_err(|e| format!("invalid Redis URL: {e}"))?;
        let client = redis::Client::open(info).map_err(|e| format!("invalid Redis URL: {e}"))?;
        Ok(RedisStore { url: url.to_string(), client, clients })
    }

    async fn link(&self) -> Result<Arc<RedisLink>, String> {
        self.clients.connection(&self.url, self.client.clone()).await
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        self.link().await?.query(cmd).await.map_err(|e| e.to_string())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.query(redis::cmd("GET").arg(key)).await
    }

    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.query(redis::cmd("SET").arg(key).arg(value)).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        self.query::<i64>(redis::cmd("DEL").arg(key)).await.map(drop)
    }

    pub async fn exists(&self, key: &str) -> Result<bool, String> {
        self.query(redis::cmd("EXISTS").arg(key)).await
    }

    /// Every key, walked with SCAN (never KEYS, which blocks the server).
    pub async fn keys(&self) -> Result<Vec<String>, String> {
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, page): (u64, Vec<String>) = self.query(redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(1000)).await?;
            keys.extend(page);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        self.query(redis::cmd("INCRBY").arg(key).arg(delta)).await
    }

    /// As `key_value::compare_and_swap`: `Err` carries what the key holds.
    pub async fn compare_and_swap(&self, key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<Result<(), Option<Vec<u8>>>, String> {
        let cmd = redis::cmd("EVAL")
            .arg(COMPARE_AND_SWAP)
            .arg(1)
            .arg(key)
            .arg(if expected.is_none() { "1" } else { "0" })
            .arg(expected.unwrap_or_default())
            .arg(value)
            .to_owned();
        match self.query::<Value>(&cmd).await? {
            Value::Array(reply) => match reply.as_slice() {
                [Value::Int(1)] => Ok(Ok(())),
                [Value::Int(0), Value::BulkString(now)] => Ok(Err(Some(now.clone()))),
                [Value::Int(0)] | [Value::Int(0), Value::Nil] => Ok(Err(None)),
                other => Err(format!("unexpected compare-and-swap reply {other:?}")),
            },
            other => Err(format!("unexpected compare-and-swap reply {other:?}")),
        }
    }
}
