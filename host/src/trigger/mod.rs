//! Triggers: what makes a component run. Souk has the HTTP trigger, the
//! Redis trigger and the cron trigger.
pub mod cron;
pub mod http;
pub mod one_shot;
pub mod redis;

/// The tasks of a trigger that runs beside the HTTP listener (Redis, cron),
/// until shutdown.
#[derive(Default)]
pub struct Running {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// What a task watches to learn that it must take no more work.
    pub fn stopped(&mut self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.get_or_insert_with(|| tokio::sync::watch::channel(false).0).subscribe()
    }

    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }

    /// Tells the tasks to take no more work, and waits for them to finish
    /// the work in hand.
    pub async fn stop(self) {
        if let Some(stop) = self.stop {
            let _ = stop.send(true);
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
