//! `--probe PATH`: the host GETs one of the app's own routes once it is
//! listening and then every `--probe-interval`, as a Kubernetes liveness
//! probe does on SpinKube. An app that does periodic work from such a route
//! (the shop's health route drives its outbox relay and the recovery of
//! interrupted orders) gets it done on one machine too, with no cron.
//! The request goes through routing, admission and middleware like any
//! other, from no client address; a failure is logged, never fatal.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};

use crate::app::App;

pub fn spawn(app: Arc<App>, authority: String, path: String, interval: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match probe(&app, &authority, &path).await {
                Ok(status) if status.is_success() => tracing::debug!("probe GET {path}: {status}"),
                Ok(status) => tracing::warn!("probe GET {path}: {status}"),
                Err(e) => tracing::warn!("probe GET {path}: {e}"),
            }
        }
    });
}

async fn probe(app: &App, authority: &str, path: &str) -> Result<http::StatusCode, String> {
    let route_path = path.split('?').next().unwrap_or(path);
    let routed = app.router.route(route_path).ok_or_else(|| format!("no route matches {path}"))?;
    let route = super::headers::RouteInfo::from_match(&routed);
    if let Some(answer) = app.statics.get(routed.component_id) {
        return Ok(answer.respond().status());
    }
    let component = &app.triggers[routed.component_id];
    let _slot = app.admission.admit(&component.component).await.map_err(|refused| refused.to_string())?;
    let body = Empty::new().map_err(|never| match never {}).boxed_unsync();
    let request = http::Request::get(format!("http://{authority}{path}"))
        .header(http::header::HOST, authority)
        .header(http::header::USER_AGENT, "souk-probe")
        .body(body)
        .map_err(|e| e.to_string())?;
    let response = super::dispatch(component, request, route, None, None).await;
    let status = response.status();
    // Reading the body to its end lets the instance finish.
    let _ = response.into_body().collect().await;
    Ok(status)
}
