//! The cron trigger, as Spin's cron trigger plugin has it: each
//! `[[trigger.cron]]` runs its component whenever its schedule comes round
//! (times in UTC), telling it the second the run was due. As in Spin, a run
//! does not wait for the one before it to end; each ends by its deadline
//! at the latest. A run due while souk was not running (or was suspended)
//! is not made up for, but one found overdue on waking runs at once.
//!
//! At shutdown no more runs start, and the ones under way are finished.

pub mod handler;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;

use crate::trigger::Running;
use handler::CronHandler;

/// Sleeps are cut into steps of at most this, so that a change of the
/// wall clock is noticed within it.
const LONGEST_SLEEP: Duration = Duration::from_secs(60);

/// One `[[trigger.cron]]`: its schedule and the component it runs.
pub struct Schedule {
    /// As written in spin.toml, for logs, metrics and spans.
    pub expression: String,
    pub cron: croner::Cron,
    pub handler: Arc<CronHandler>,
}

/// Keeps every schedule on a task of its own.
pub fn start(schedules: Vec<Schedule>) -> Running {
    let mut running = Running::default();
    for schedule in schedules {
        println!("Cron trigger: `{}` → {}", schedule.expression, schedule.handler.component());
        let stopped = running.stopped();
        running.spawn(keep(schedule, stopped));
    }
    running
}

/// Starts a run each time `schedule` comes round, until `stopped` says so;
/// then waits for the runs under way.
async fn keep(schedule: Schedule, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let schedule = Arc::new(schedule);
    let mut runs = JoinSet::new();
    let mut after = Utc::now();
    'schedule: loop {
        let due = match schedule.cron.find_next_occurrence(&after, false) {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("cron trigger `{}`: no run is due any more ({e})", schedule.expression);
                break;
            }
        };
        while let Ok(wait) = (due - Utc::now()).to_std() {
            tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => break 'schedule,
                _ = tokio::time::sleep(wait.min(LONGEST_SLEEP)) => {}
                Some(_) = runs.join_next() => {}
            }
        }
        let run = schedule.clone();
        runs.spawn(async move {
            let started = std::time::Instant::now();
            let ran = run.handler.run(&run.expression, due.timestamp().max(0) as u64).await;
            let component = run.handler.component();
            crate::metrics::cron_run(component, &run.expression, ran.is_ok(), started.elapsed());
            if let Err(failure) = ran {
                crate::metrics::guest_failed(component, failure.kind);
                tracing::error!("component `{component}` failed its run due at {due} (`{}`): {}", run.expression, failure.why);
            }
        });
        // A run found overdue (souk was suspended, the clock moved) is the
        // only one made: the next is due after now.
        after = due.max(Utc::now());
    }
    while runs.join_next().await.is_some() {}
}
