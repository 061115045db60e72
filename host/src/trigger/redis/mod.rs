//! The Redis trigger, as Spin has it: for each Redis server the app's
//! `[[trigger.redis]]` entries name, one subscription to their channels;
//! each message published on a channel calls every component subscribed
//! to it (at once), and the next message waits until they are done, so a
//! channel's messages are handled in the order they were published.
//!
//! A server that cannot be reached at start-up stops it, naming the key
//! that gave its address. At shutdown the messages in hand are finished
//! first. A connection lost later is made again (with a
//! growing pause, at most 30 s) and the channels subscribed again; what
//! was published meanwhile is lost, as Redis pub/sub does not keep it.

pub mod handler;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use wasmtime::format_err;

use crate::capabilities::outbound_redis::redacted;
use crate::trigger::Running;
use handler::RedisHandler;

/// How long connecting and subscribing may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(30);

/// One Redis server's channels and the components each one calls.
pub struct Subscription {
    pub address: String,
    /// Where the address was given, for start-up errors
    /// (`<spin.toml>: trigger.redis[0].address`).
    pub address_at: String,
    pub channels: BTreeMap<String, Vec<Arc<RedisHandler>>>,
}

/// Connects to every server and subscribes its channels, then serves their
/// messages on tasks of their own.
pub async fn start(subscriptions: Vec<Subscription>) -> wasmtime::Result<Running> {
    let mut running = Running::default();
    for subscription in subscriptions {
        let client = redis::Client::open(subscription.address.as_str())
            .map_err(|e| format_err!("{}: `{}` is not a Redis address: {e}", subscription.address_at, redacted(&subscription.address)))?;
        let pubsub = subscribe(&client, &subscription)
            .await
            .map_err(|e| format_err!("{}: cannot subscribe on {}: {e}", subscription.address_at, redacted(&subscription.address)))?;
        for (channel, handlers) in &subscription.channels {
            let components: Vec<&str> = handlers.iter().map(|h| h.component()).collect();
            println!("Redis trigger: {}/{channel} → {}", redacted(&subscription.address), components.join(", "));
        }
        let stopped = running.stopped();
        running.spawn(serve(client, pubsub, subscription, stopped));
    }
    Ok(running)
}

async fn subscribe(client: &redis::Client, subscription: &Subscription) -> Result<redis::aio::PubSub, String> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        for channel in subscription.channels.keys() {
            pubsub.subscribe(channel).await?;
        }
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

/// Handles the messages of one server's channels until `stopped` says so;
/// a message in hand is handled first.
async fn serve(client: redis::Client, mut pubsub: redis::aio::PubSub, subscription: Subscription, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let server = redacted(&subscription.address);
    loop {
        let mut messages = pubsub.into_on_message();
        loop {
            let message = tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            let channel = message.get_channel_name().to_string();
            let Some(handlers) = subscription.channels.get(&channel) else { continue };
            let payload = message.get_payload_bytes();
            let (server, channel) = (&server, &channel);
            let calls = handlers.iter().map(|handler| async move {
                let started = std::time::Instant::now();
                let handled = handler.handle(channel, payload.to_vec()).await;
                crate::metrics::redis_message(handler.component(), channel, handled.is_ok(), started.elapsed());
                if let Err(failure) = handled {
                    crate::metrics::guest_failed(handler.component(), failure.kind);
                    tracing::error!("component `{}` failed a message from {server}/{channel}: {}", handler.component(), failure.why);
                }
            });
            futures::future::join_all(calls).await;
        }
        tracing::warn!("Redis trigger: the connection to {server} was lost; connecting again");
        let mut pause = Duration::from_millis(100);
        pubsub = loop {
            // Shutdown does not wait for an attempt (up to 10 s on a server
            // that does not answer).
            let attempt = tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => return,
                attempt = subscribe(&client, &subscription) => attempt,
            };
            match attempt {
                Ok(pubsub) => break pubsub,
                Err(e) => {
                    tracing::warn!("Redis trigger: cannot subscribe on {server} ({e}); trying again in {pause:?}");
                    tokio::select! {
                        _ = stopped.wait_for(|stop| *stop) => return,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(MAX_RECONNECT_PAUSE);
                }
            }
        };
        tracing::info!("Redis trigger: subscribed again on {server}");
    }
}
