//! The cron trigger: components run on their schedules with their grants,
//! told when each run was due; a failing or runaway run (cut at its
//! deadline) does not stop the schedule; an app with only cron triggers
//! does not listen, and at shutdown finishes the run in hand; a bad
//! schedule or a component without the handler stops start-up, naming the key.

use std::time::SystemTime;

use crate::harness::{AppDir, wait_until};
use crate::metrics::{metrics_address, sample, scrape};

fn now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn components_run_on_their_schedules_and_survive_failures() {
    let app = AppDir::new(
        r#"spin_manifest_version = 2
[application]
name = "cron"

[[trigger.http]]
route = "/..."
component = "web"

[[trigger.cron]]
component = "every"
cron_expression = "* * * * * *"

[[trigger.cron]]
component = "even"
cron_expression = "0/2 * * * * *"

[[trigger.cron]]
component = "failing"
cron_expression = "* * * * * *"

[[trigger.cron]]
cron_expression = "* * * * * *"
component = { source = "{cron-guest}", environment = { MODE = "loop" } }

[component.web]
source = "{p2}"
key_value_stores = ["default"]

[component.every]
source = "{cron-guest}"
key_value_stores = ["default"]
environment = { TAG = "every" }

[component.even]
source = "{cron-guest}"
key_value_stores = ["default"]
environment = { TAG = "even" }

[component.failing]
source = "{cron-guest}"
environment = { MODE = "fail", TAG = "failing" }
"#,
    );
    let souk = app.up_with(&["--request-timeout", "1s", "--metrics-listen", "127.0.0.1:0"], &[]);
    assert_eq!(listening_sockets(souk.pid()), 2, "the app's listener and the metrics'");
    let schedules = souk.startup.join("\n");
    assert!(schedules.contains("Cron trigger: `0/2 * * * * *` → even") && schedules.contains("→ cron-trigger4-component"), "{schedules}");
    let read = |key: &str| {
        let reply = souk.get(&format!("/v2/kv/get?store=default&key={key}"));
        (reply.status == 200).then(|| reply.body.parse::<u64>().unwrap())
    };

    // Every second, with its grant of the store; told when the run was due.
    wait_until("three runs of `every`", || read("runs:every").is_some_and(|n| n >= 3));
    let due = read("due:every").unwrap();
    assert!(due.abs_diff(now()) <= 5, "due {due}, now {}", now());
    // Runs go on while the runaway runs are cut at their deadline.
    let metrics_at = metrics_address(&souk);
    wait_until("a runaway run cut at its deadline", || {
        sample(&scrape(&metrics_at), r#"souk_guest_failures_total{component="cron-trigger4-component",reason="deadline"}"#).is_some()
    });
    let before = read("runs:every").unwrap();
    wait_until("`every` still running", || read("runs:every").unwrap() >= before + 2);
    // `0/2`: on even seconds only.
    wait_until("two runs of `even`", || read("runs:even").is_some_and(|n| n >= 2));
    assert_eq!(read("due:even").unwrap() % 2, 0, "`0/2` is due on even seconds");
    assert_eq!(read("repeated:every"), None, "a time that came round once ran once");

    let metrics = scrape(&metrics_at);
    let count = |series: &str| sample(&metrics, series).unwrap_or_else(|| panic!("no {series} in:\n{metrics}"));
    assert!(count(r#"souk_cron_runs_total{component="every",schedule="* * * * * *",outcome="ok"}"#) >= 5.0);
    assert!(count(r#"souk_cron_runs_total{component="failing",schedule="* * * * * *",outcome="error"}"#) >= 1.0);
    assert!(count(r#"souk_guest_failures_total{component="failing",reason="error"}"#) >= 1.0);
    assert!(count(r#"souk_cron_runs_total{component="cron-trigger4-component",schedule="* * * * * *",outcome="error"}"#) >= 1.0);
    assert!(sample(&metrics, r#"souk_cron_runs_total{component="failing",schedule="* * * * * *",outcome="ok"}"#).is_none());

    let (code, stderr) = souk.terminate_with_stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("component `failing` failed its run due at") && stderr.contains("failing refused to run"), "{stderr}");
    assert!(stderr.contains("component `cron-trigger4-component` failed its run") && stderr.contains("deadline of 1s exceeded"), "{stderr}");
}

#[test]
fn an_app_with_only_cron_triggers_does_not_listen_and_finishes_the_run_in_hand_at_shutdown() {
    let app = AppDir::new(
        r#"spin_manifest_version = 2
[application]
name = "cron-only"

[[trigger.cron]]
component = "job"
cron_expression = "* * * * * *"

[component.job]
source = "{cron-guest}"
key_value_stores = ["default"]
environment = { MODE = "slow", TAG = "job" }
"#,
    );
    let souk = app.up();
    assert!(souk.url.is_empty() && !souk.startup.iter().any(|l| l.starts_with("Serving")), "{:?}", souk.startup);
    assert_eq!(listening_sockets(souk.pid()), 0, "souk listens although the app has no HTTP trigger");
    souk.wait_for_line(|line| line.contains("slow run started job"));
    let (code, stderr, stdout) = souk.terminate_with_output();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.iter().any(|l| l.contains("ran job ")), "the run in hand was finished before souk stopped: {stdout:?}\n{stderr}");
}

#[test]
fn a_bad_schedule_or_a_component_without_the_handler_stops_start_up() {
    let manifest = |schedule: &str, source: &str| {
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"x\"\n\n[[trigger.cron]]\ncron_expression = \"{schedule}\"\ncomponent = \"job\"\n\n\
             [component.job]\nsource = \"{source}\"\n"
        )
    };
    let bad = AppDir::new(&manifest("*/5 * * * *", "{cron-guest}")).up_fails(&[], &[]);
    assert!(bad.contains("trigger.cron[0].cron_expression") && bad.contains("six fields"), "{bad}");
    let no_handler = AppDir::new(&manifest("* * * * * *", "{guest}")).up_fails(&[], &[]);
    assert!(no_handler.contains("trigger.cron[0].component") && no_handler.contains("does not export `handle-cron-event`"), "{no_handler}");
}

/// How many listening TCP sockets process `pid` holds (its socket
/// descriptors that /proc/net/tcp and tcp6 list in state LISTEN).
fn listening_sockets(pid: u32) -> usize {
    let held: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| Some(target.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_string()))
        .collect();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|table| std::fs::read_to_string(table).unwrap_or_default().lines().skip(1).map(str::to_string).collect::<Vec<_>>())
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(3) == Some(&"0A") && fields.get(9).is_some_and(|inode| held.contains(*inode))
        })
        .count()
}
