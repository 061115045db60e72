//! Command-line arguments: parsing and validation only, nothing runs here.

use std::time::Duration;

use clap::Parser;

use crate::scenario::ScenarioName;
use crate::scenario::mix::{DEFAULT_MIX, Mix};

/// Closed-loop HTTP/1.1 load generator for Souk services.
///
/// Each connection is one keep-alive HTTP/1.1 connection driven by one virtual
/// user that sends its scenario's requests back to back. Requests sent during
/// the warm-up are not recorded. Each request expects certain statuses (an
/// order 201 or 409 `out_of_stock`, a register 201, most others 2xx); any
/// other status, or no response, is an error.
///
/// Before a checkout or mixed run, souk-load logs in as admin and tops every
/// product's stock up to --restock-to (not measured). After it (by default
/// for checkout and mixed), it checks the shop through GET
/// /api/v1/admin/audit: units sold equal the units of paid orders, no stock
/// is negative, every paid order has exactly one approved payment and no
/// other order has one, no order is left pending, no compensation is queued.
///
/// Exit status: 0 when every request got an expected status and the check
/// (if any) passed; 1 when requests failed or an invariant is broken (or the
/// check could not be made); 2 when the run could not start (bad target,
/// admin login or restock failed).
#[derive(Debug, Parser)]
#[command(name = "souk-load", version)]
pub struct Args {
    /// Base URL of the server (http only); a path here prefixes every request path.
    #[arg(long, default_value = "http://127.0.0.1:3000", value_parser = parse_target)]
    pub url: Target,

    /// Scenario: which requests each virtual user sends.
    #[arg(long, value_enum, default_value_t = ScenarioName::Hello)]
    pub scenario: ScenarioName,

    /// Weights of the `mixed` scenario: name=weight for browse, cart, checkout
    /// (non-negative integers, not all 0; a kind left out weighs 0).
    #[arg(long, default_value = DEFAULT_MIX, value_parser = parse_mix)]
    pub mix: Mix,

    /// Request path for the `hello` scenario.
    #[arg(long, default_value = "/hello", value_parser = parse_path)]
    pub path: String,

    /// Concurrent connections, one virtual user each.
    #[arg(long, short = 'c', default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,

    /// How long to measure after the warm-up, e.g. 10s, 500ms, 2m [default: 10s].
    #[arg(long, short = 'd', value_parser = parse_positive_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,

    /// Stop after this many measured requests instead of after a duration.
    #[arg(long, short = 'n', value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,

    /// Unrecorded warm-up before measuring, e.g. 2s; 0s for none.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,

    /// Seed for the scenario's random choices; given the same answers, the same seed sends the same requests.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// A request that has no complete response after this long is a transport error.
    #[arg(long, default_value = "30s", value_parser = parse_positive_duration)]
    pub timeout: Duration,

    /// For `hello` only: the one response status that counts as success
    /// [default: any 2xx]. The shop scenarios know what each request expects.
    #[arg(long, value_parser = clap::value_parser!(u16).range(100..=599))]
    pub expect_status: Option<u16>,

    /// Check the shop's invariants after the run [default: on for checkout and mixed].
    #[arg(long, overrides_with = "no_check")]
    pub check: bool,

    /// Do not check the shop's invariants after the run.
    #[arg(long, overrides_with = "check")]
    pub no_check: bool,

    /// Before a checkout or mixed run, top every product's stock up to this
    /// many units so orders do not run out; 0 skips the restock.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(i64).range(0..))]
    pub restock_to: i64,

    /// Admin account for the restock and the check.
    #[arg(long, default_value = "admin@souk.local")]
    pub admin_email: String,

    /// Password of the admin account (the development default unless given here or in the environment).
    #[arg(long, env = "SOUK_ADMIN_PASSWORD", default_value = "dev-admin-password", hide_env_values = true)]
    pub admin_password: String,

    /// Print the summary as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,

    /// No live progress line (it is also off when stderr is not a terminal).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// When a run stops measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    After(Duration),
    Requests(u64),
}

pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

impl Args {
    pub fn stop(&self) -> Stop {
        match (self.requests, self.duration) {
            (Some(n), _) => Stop::Requests(n),
            (None, d) => Stop::After(d.unwrap_or(DEFAULT_DURATION)),
        }
    }

    /// Whether to check the shop's invariants after the run.
    pub fn check_enabled(&self) -> bool {
        if self.no_check { false } else { self.check || self.scenario.orders() }
    }

    /// The stock floor to restock to before the run, if any.
    pub fn restock(&self) -> Option<i64> {
        (self.scenario.orders() && self.restock_to > 0).then_some(self.restock_to)
    }

    /// Checks across options that clap cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.expect_status.is_some() && self.scenario != ScenarioName::Hello {
            return Err(format!("--expect-status applies to the hello scenario only; {} knows what each request expects", self.scenario.as_str()));
        }
        Ok(())
    }
}

fn parse_mix(s: &str) -> Result<Mix, String> {
    s.parse()
}

/// Where the requests go: `http://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// Value of the `Host` header (`host` or `host:port` as written).
    pub authority: String,
    /// Path prefix without a trailing slash ("" for none).
    pub base_path: String,
}

impl Target {
    /// Full request path: the URL's prefix followed by the scenario's path.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.base_path, path)
    }
}

pub fn parse_target(s: &str) -> Result<Target, String> {
    let rest = s.strip_prefix("http://").ok_or_else(|| format!("`{s}`: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if path.contains(['?', '#']) {
        return Err(format!("`{s}`: no query or fragment in --url; put them in the scenario path"));
    }
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("`{s}`: expected http://host[:port][/prefix]"));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| format!("`{s}`: bad host or port"))?;
    Ok(Target { host, port, authority: authority.to_string(), base_path: path.trim_end_matches('/').to_string() })
}

fn split_host_port(authority: &str) -> Option<(String, u16)> {
    // `[::1]:3000` and `[::1]`: brackets around IPv6 literals.
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => 80,
            p => p.strip_prefix(':')?.parse().ok()?,
        };
        return (!host.is_empty()).then(|| (host.to_string(), port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (authority, 80),
    };
    (!host.is_empty() && !host.contains(':')).then(|| (host.to_string(), port))
}

fn parse_path(s: &str) -> Result<String, String> {
    if s.starts_with('/') && !s.contains(char::is_whitespace) { Ok(s.to_string()) } else { Err(format!("`{s}`: a path starts with / and has no spaces")) }
}

/// Parses `10s`, `500ms`, `1.5s`, `2m`, `1h`, `250us`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{s}`: expected a number with a unit, e.g. 10s, 500ms, 2m"))?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!("`{s}`: unknown unit `{other}` (use us, ms, s, m or h)"));
        }
    };
    Duration::try_from_secs_f64(value * seconds_per_unit).map_err(|_| format!("`{s}`: out of range"))
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err(format!("`{s}`: must be greater than zero")),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("10s"), Ok(ms(10_000)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1_500)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("3"), Ok(ms(3_000)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_rejected() {
        for bad in ["", "s", "ten", "10 parsecs", "1.2.3s", "-1s", "10d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(parse_positive_duration("0s").is_err());
        assert_eq!(parse_positive_duration("1ms"), Ok(ms(1)));
    }

    #[test]
    fn targets() {
        let t = parse_target("http://127.0.0.1:3000").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.authority.as_str()), ("127.0.0.1", 3000, "127.0.0.1:3000"));
        assert_eq!(t.join("/hello"), "/hello");

        let t = parse_target("http://localhost/api/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("localhost", 80));
        assert_eq!(t.join("/hello"), "/api/hello");

        let t = parse_target("http://[::1]:8080").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));

        for bad in ["https://x", "127.0.0.1:3000", "http://", "http://h:port", "http://h/?q=1", "http://u@h"] {
            assert!(parse_target(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn defaults_and_stop_conditions() {
        let a = Args::try_parse_from(["souk-load"]).unwrap();
        assert_eq!(a.stop(), Stop::After(DEFAULT_DURATION));
        assert_eq!(a.connections, 16);
        assert_eq!(a.warmup, ms(2_000));
        assert_eq!(a.path, "/hello");
        assert_eq!(a.expect_status, None);
        assert_eq!(a.mix, Mix::default());
        assert_eq!(a.admin_email, "admin@souk.local");
        assert!(!a.check_enabled());
        assert_eq!(a.restock(), None);
        assert_eq!(a.validate(), Ok(()));

        let a = Args::try_parse_from(["souk-load", "--requests", "500", "--expect-status", "404"]).unwrap();
        assert_eq!(a.stop(), Stop::Requests(500));
        assert_eq!(a.expect_status, Some(404));
        assert_eq!(a.validate(), Ok(()));

        let a = Args::try_parse_from(["souk-load", "--duration", "3s"]).unwrap();
        assert_eq!(a.stop(), Stop::After(ms(3_000)));

        assert!(Args::try_parse_from(["souk-load", "--duration", "3s", "--requests", "5"]).is_err());
        assert!(Args::try_parse_from(["souk-load", "--connections", "0"]).is_err());
        assert!(Args::try_parse_from(["souk-load", "--scenario", "nope"]).is_err());
        assert!(Args::try_parse_from(["souk-load", "--path", "hello"]).is_err());
    }

    #[test]
    fn shop_options() {
        let parse = |args: &[&str]| Args::try_parse_from(std::iter::once("souk-load").chain(args.iter().copied()));
        let a = parse(&["--scenario", "checkout"]).unwrap();
        assert!(a.check_enabled());
        assert_eq!(a.restock(), Some(1_000_000));
        let a = parse(&["--scenario", "mixed", "--no-check", "--restock-to", "0"]).unwrap();
        assert!(!a.check_enabled());
        assert_eq!(a.restock(), None);
        let a = parse(&["--scenario", "mixed", "--no-check", "--check"]).unwrap();
        assert!(a.check_enabled(), "the last of --check and --no-check wins");
        let a = parse(&["--scenario", "cart", "--check"]).unwrap();
        assert!(a.check_enabled());
        assert_eq!(a.restock(), None, "a cart run orders nothing");
        let a = parse(&["--scenario", "browse"]).unwrap();
        assert!(!a.check_enabled());

        let a = parse(&["--scenario", "mixed", "--mix", "browse=1,checkout=1"]).unwrap();
        assert_eq!((a.mix.browse, a.mix.cart, a.mix.checkout), (1, 0, 1));
        let err = parse(&["--mix", "browse=1,buy=2"]).unwrap_err().to_string();
        assert!(err.contains("`buy`: unknown kind"), "{err}");
        assert!(parse(&["--mix", "browse=0"]).is_err());
        assert!(parse(&["--restock-to", "-1"]).is_err());

        let a = parse(&["--scenario", "checkout", "--expect-status", "200"]).unwrap();
        assert!(a.validate().unwrap_err().contains("hello scenario only"));
        let a = parse(&["--admin-email", "root@shop.test", "--admin-password", "pw"]).unwrap();
        assert_eq!((a.admin_email.as_str(), a.admin_password.as_str()), ("root@shop.test", "pw"));
    }
}
