//! The notifications database: one notification per event, found by user,
//! and the inbox that makes a redelivered event change nothing.

use serde::Serialize;
use shop_common::events::{self, Event, first_delivery};
use shop_common::timestamp::to_rfc3339;
use shop_common::{ApiError, Db, Page, PageRequest, Row, transaction};

use crate::message::compose;

pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE notifications (
        id TEXT PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, kind TEXT NOT NULL,
        subject TEXT NOT NULL, body TEXT NOT NULL, order_id TEXT, created_at INTEGER NOT NULL, webhook TEXT NOT NULL);
     CREATE INDEX notifications_by_user ON notifications (user_id, id)",
    events::INBOX_SCHEMA,
];

/// What became of a notification's webhook call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Webhook {
    /// Answered 2xx.
    Sent,
    /// No answer, or not a 2xx one.
    Failed,
    /// No `webhook_url` configured.
    None,
}

impl Webhook {
    pub fn as_str(self) -> &'static str {
        match self {
            Webhook::Sent => "sent",
            Webhook::Failed => "failed",
            Webhook::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub id: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub order_id: Option<String>,
    pub created_at: String,
    pub webhook: String,
}

/// What receiving an event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new notification.
    Stored(Notification),
    /// Seen before; nothing changed (and no webhook call).
    Duplicate,
    /// A type nobody is notified about.
    Ignored,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Stored(_) => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
        }
    }
}

const COLUMNS: &str = "id, event_id, kind, subject, body, order_id, created_at, webhook";

fn from_row(row: &Row) -> Result<Notification, ApiError> {
    Ok(Notification {
        id: row.text(0)?,
        event_id: row.text(1)?,
        kind: row.text(2)?,
        subject: row.text(3)?,
        body: row.text(4)?,
        order_id: row.opt_text(5)?,
        created_at: to_rfc3339(row.int(6)?),
        webhook: row.text(7)?,
    })
}

/// Stores the notification for `event` once, with the event's id in the
/// inbox in the same transaction. `webhook_configured` says whether a
/// webhook call follows: such a notification starts as `failed` (not yet
/// delivered) until the call succeeds, so a call that never finishes does
/// not leave it claiming `sent` or `none`.
pub async fn receive<D: Db>(db: &D, event: &Event, webhook_configured: bool, now: i64) -> Result<Outcome, ApiError> {
    let Some(draft) = compose(event)? else { return Ok(Outcome::Ignored) };
    let webhook = if webhook_configured { Webhook::Failed } else { Webhook::None };
    transaction(db, async |db| {
        if !first_delivery(db, event, now).await? {
            return Ok(Outcome::Duplicate);
        }
        let id = shop_common::id::new_id();
        db.exec(
            &format!("INSERT INTO notifications ({COLUMNS}, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            &[
                id.as_str().into(),
                event.id.as_str().into(),
                event.kind.as_str().into(),
                draft.subject.as_str().into(),
                draft.body.as_str().into(),
                draft.order_id.as_deref().into(),
                now.into(),
                webhook.as_str().into(),
                draft.user_id.as_str().into(),
            ],
        )
        .await?;
        Ok(Outcome::Stored(Notification {
            id,
            event_id: event.id.clone(),
            kind: event.kind.clone(),
            subject: draft.subject,
            body: draft.body,
            order_id: draft.order_id,
            created_at: to_rfc3339(now),
            webhook: webhook.as_str().to_owned(),
        }))
    })
    .await
}

/// Records how the webhook call went.
pub async fn set_webhook<D: Db>(db: &D, id: &str, outcome: Webhook) -> Result<(), ApiError> {
    db.exec("UPDATE notifications SET webhook = ? WHERE id = ?", &[outcome.as_str().into(), id.into()]).await?;
    Ok(())
}

/// The user's notifications, newest first (ids are time-ordered).
pub async fn list_for_user<D: Db>(db: &D, user_id: &str, page: PageRequest) -> Result<Page<Notification>, ApiError> {
    let total = db.query_one("SELECT count(*) FROM notifications WHERE user_id = ?", &[user_id.into()]).await?.map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let (limit, offset) = page.limit_offset();
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?"),
            &[user_id.into(), i64::from(limit).into(), i64::try_from(offset).unwrap_or(i64::MAX).into()],
        )
        .await?;
    let items = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok(Page::new(items, page, total as u64))
}

/// The body POSTed to the webhook.
pub fn webhook_payload(notification: &Notification, event: &Event) -> serde_json::Value {
    serde_json::json!({ "notification": notification, "event": event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use serde_json::json;
    use shop_common::db::memory::MemoryDb;
    use shop_common::db::migrate;

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        block_on(migrate(&db, MIGRATIONS)).unwrap();
        db
    }

    fn cancelled(user: &str, order: &str) -> Event {
        Event::new("order.cancelled", json!({ "order_id": order, "user_id": user, "refunded": false }))
    }

    #[test]
    fn each_event_notifies_once() {
        let db = db();
        block_on(async {
            let event = cancelled("u1", "o1");
            let Outcome::Stored(n) = receive(&db, &event, false, 10).await.unwrap() else { panic!("not stored") };
            assert_eq!((n.kind.as_str(), n.event_id.as_str(), n.webhook.as_str()), ("order.cancelled", event.id.as_str(), "none"));
            assert_eq!(receive(&db, &event, false, 11).await.unwrap(), Outcome::Duplicate);
            assert_eq!(list_for_user(&db, "u1", PageRequest::default()).await.unwrap().items, vec![n]);
        });
    }

    #[test]
    fn ignored_and_bad_events_leave_nothing() {
        let db = db();
        block_on(async {
            assert_eq!(receive(&db, &Event::new("cart.updated", json!({})), false, 1).await.unwrap(), Outcome::Ignored);
            assert_eq!(receive(&db, &Event::new("order.placed", json!({})), false, 1).await.unwrap_err().status, 400);
            let seen = db.query_one("SELECT count(*) FROM inbox", &[]).await.unwrap().unwrap().int(0).unwrap();
            assert_eq!(seen, 0);
        });
    }

    #[test]
    fn users_see_only_their_own_newest_first() {
        let db = db();
        block_on(async {
            for (user, order) in [("u1", "o1"), ("u2", "o2"), ("u1", "o3")] {
                receive(&db, &cancelled(user, order), false, 10).await.unwrap();
            }
            let page = list_for_user(&db, "u1", PageRequest::default()).await.unwrap();
            assert_eq!(page.total, 2);
            assert_eq!(page.items.iter().map(|n| n.order_id.as_deref()).collect::<Vec<_>>(), [Some("o3"), Some("o1")]);
            let second = list_for_user(&db, "u1", PageRequest { page: 2, page_size: 1 }).await.unwrap();
            assert_eq!((second.items.len(), second.items[0].order_id.as_deref()), (1, Some("o1")));
            assert_eq!(list_for_user(&db, "u3", PageRequest::default()).await.unwrap().total, 0);
        });
    }

    #[test]
    fn the_webhook_outcome_is_recorded() {
        let db = db();
        block_on(async {
            let event = cancelled("u1", "o1");
            let Outcome::Stored(n) = receive(&db, &event, true, 10).await.unwrap() else { panic!("not stored") };
            assert_eq!(n.webhook, "failed", "not delivered until the call succeeds");
            let payload = webhook_payload(&n, &event);
            assert_eq!((payload["notification"]["id"].as_str(), payload["event"]["id"].as_str()), (Some(n.id.as_str()), Some(event.id.as_str())));
            assert_eq!(payload["notification"]["type"], "order.cancelled");
            set_webhook(&db, &n.id, Webhook::Sent).await.unwrap();
            assert_eq!(list_for_user(&db, "u1", PageRequest::default()).await.unwrap().items[0].webhook, "sent");
        });
    }
}
