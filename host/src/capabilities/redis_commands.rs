//! Which Redis commands a guest may send over the connection the whole app
//! shares with one server.
//!
//! Redis keeps state per connection, and serves a connection's commands one
//! after the other: `SELECT` changes the database of every command after
//! it, `MULTI` queues them, `SUBSCRIBE` turns the connection into a
//! subscriber, `CLIENT REPLY OFF` silences it, and `BLPOP` holds it until an
//! element arrives. On a shared connection any of these would reach other
//! guests' commands, those of other components included. So only commands
//! known to do none of this are shared ([`shareable`]: data commands that
//! neither block nor change the connection); any other, a module's command
//! included, goes over a connection of the guest's own, opened for it and
//! closed with it, as Spin opens one for every guest connection.

/// Whether `command` (a command name, any case) leaves the connection as it
/// found it and answers without waiting for anything but the data.
pub fn shareable(command: &str) -> bool {
    let upper = command.to_ascii_uppercase();
    SHAREABLE.binary_search(&upper.as_str()).is_ok()
}

/// Sorted, for the binary search. Not here, among others: `SELECT`,
/// `MULTI`/`EXEC`/`WATCH`, the `SUBSCRIBE` family, `CLIENT`, `AUTH`,
/// `HELLO`, `RESET`, `QUIT`, `MONITOR`, `READONLY`, and the blocking
/// `BLPOP`/`BRPOP`/`BLMOVE`/`BLMPOP`/`BRPOPLPUSH`/`BZPOPMIN`/`BZPOPMAX`/
/// `BZMPOP`, `XREAD`/`XREADGROUP` (which may block) and `WAIT`/`WAITAOF`.
const SHAREABLE: &[&str] = &[
    "APPEND",
    "BITCOUNT",
    "BITFIELD",
    "BITFIELD_RO",
    "BITOP",
    "BITPOS",
    "COPY",
    "DBSIZE",
    "DECR",
    "DECRBY",
    "DEL",
    "DUMP",
    "ECHO",
    "EVAL",
    "EVALSHA",
    "EVALSHA_RO",
    "EVAL_RO",
    "EXISTS",
    "EXPIRE",
    "EXPIREAT",
    "EXPIRETIME",
    "FCALL",
    "FCALL_RO",
    "GEOADD",
    "GEODIST",
    "GEOHASH",
    "GEOPOS",
    "GEORADIUS",
    "GEORADIUSBYMEMBER",
    "GEORADIUSBYMEMBER_RO",
    "GEORADIUS_RO",
    "GEOSEARCH",
    "GEOSEARCHSTORE",
    "GET",
    "GETBIT",
    "GETDEL",
    "GETEX",
    "GETRANGE",
    "GETSET",
    "HDEL",
    "HEXISTS",
    "HGET",
    "HGETALL",
    "HINCRBY",
    "HINCRBYFLOAT",
    "HKEYS",
    "HLEN",
    "HMGET",
    "HMSET",
    "HRANDFIELD",
    "HSCAN",
    "HSET",
    "HSETNX",
    "HSTRLEN",
    "HVALS",
    "INCR",
    "INCRBY",
    "INCRBYFLOAT",
    "KEYS",
    "LCS",
    "LINDEX",
    "LINSERT",
    "LLEN",
    "LMOVE",
    "LMPOP",
    "LPOP",
    "LPOS",
    "LPUSH",
    "LPUSHX",
    "LRANGE",
    "LREM",
    "LSET",
    "LTRIM",
    "MGET",
    "MSET",
    "MSETNX",
    "PERSIST",
    "PEXPIRE",
    "PEXPIREAT",
    "PEXPIRETIME",
    "PFADD",
    "PFCOUNT",
    "PFMERGE",
    "PING",
    "PSETEX",
    "PTTL",
    "PUBLISH",
    "RANDOMKEY",
    "RENAME",
    "RENAMENX",
    "RESTORE",
    "RPOP",
    "RPOPLPUSH",
    "RPUSH",
    "RPUSHX",
    "SADD",
    "SCAN",
    "SCARD",
    "SDIFF",
    "SDIFFSTORE",
    "SET",
    "SETBIT",
    "SETEX",
    "SETNX",
    "SETRANGE",
    "SINTER",
    "SINTERCARD",
    "SINTERSTORE",
    "SISMEMBER",
    "SMEMBERS",
    "SMISMEMBER",
    "SMOVE",
    "SORT",
    "SORT_RO",
    "SPOP",
    "SPUBLISH",
    "SRANDMEMBER",
    "SREM",
    "SSCAN",
    "STRLEN",
    "SUBSTR",
    "SUNION",
    "SUNIONSTORE",
    "TIME",
    "TOUCH",
    "TTL",
    "TYPE",
    "UNLINK",
    "XACK",
    "XADD",
    "XAUTOCLAIM",
    "XCLAIM",
    "XDEL",
    "XLEN",
    "XPENDING",
    "XRANGE",
    "XREVRANGE",
    "XTRIM",
    "ZADD",
    "ZCARD",
    "ZCOUNT",
    "ZDIFF",
    "ZDIFFSTORE",
    "ZINCRBY",
    "ZINTER",
    "ZINTERCARD",
    "ZINTERSTORE",
    "ZLEXCOUNT",
    "ZMPOP",
    "ZMSCORE",
    "ZPOPMAX",
    "ZPOPMIN",
    "ZRANDMEMBER",
    "ZRANGE",
    "ZRANGEBYLEX",
    "ZRANGEBYSCORE",
    "ZRANGESTORE",
    "ZRANK",
    "ZREM",
    "ZREMRANGEBYLEX",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYSCORE",
    "ZREVRANGE",
    "ZREVRANGEBYLEX",
    "ZREVRANGEBYSCORE",
    "ZREVRANK",
    "ZSCAN",
    "ZSCORE",
    "ZUNION",
    "ZUNIONSTORE",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_upper_case() {
        assert!(SHAREABLE.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(SHAREABLE.iter().all(|c| *c == c.to_ascii_uppercase()));
    }

    #[test]
    fn data_commands_are_shared_and_connection_state_or_blocking_ones_are_not() {
        for command in ["get", "SET", "Incr", "hset", "zadd", "eval", "publish", "append"] {
            assert!(shareable(command), "{command}");
        }
        for command in [
            "SELECT",
            "multi",
            "EXEC",
            "WATCH",
            "SUBSCRIBE",
            "psubscribe",
            "CLIENT",
            "AUTH",
            "HELLO",
            "RESET",
            "QUIT",
            "MONITOR",
            "BLPOP",
            "brpop",
            "BLMOVE",
            "BZPOPMIN",
            "XREAD",
            "XREADGROUP",
            "WAIT",
            "MODULE.CMD",
            "",
        ] {
            assert!(!shareable(command), "{command}");
        }
    }
}
