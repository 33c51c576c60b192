//! Account events for the customer's backend (off by default): `UserCreated`, `PhoneBound`,
//! `UserDeleted`, put on the EventBridge bus `EVENT_BUS_NAME` names, source `wxlogin`. The
//! flows announce them after the change is stored (`publish`); the sink is installed once at
//! a cold start (`install`), like the metrics. Best effort: an event that cannot be put is
//! logged (by error code) and counted (`EventsFailed`), and the request it belongs to still
//! succeeds; one attempt, within 1 s. Ids and times only, never a phone number or a profile.
//! At least once and possibly more than once (a retried request announces the same change
//! again, under another `event_id`): consumers are idempotent by user and kind.

#[cfg(feature = "events")]
pub mod eventbridge;

use crate::domain::{AppId, UserId};
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The source every event carries.
pub const SOURCE: &str = "wxlogin";

#[derive(Debug, Clone, Copy)]
pub enum AccountEvent<'a> {
    /// A user was created: by a first WeChat login, or a phone-first signup.
    UserCreated {
        user_id: &'a UserId,
        appid: &'a AppId,
        /// `login` or `phone`.
        via: &'static str,
    },
    /// A phone was bound to the user (first bind, or a change to another number).
    PhoneBound { user_id: &'a UserId, change: bool },
    /// The user and everything pointing at them were erased.
    UserDeleted { user_id: &'a UserId },
}

impl AccountEvent<'_> {
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::UserCreated { .. } => "UserCreated",
            Self::PhoneBound { .. } => "PhoneBound",
            Self::UserDeleted { .. } => "UserDeleted",
        }
    }

    /// The event's `detail`, as of `now` (Unix seconds).
    pub fn detail(&self, now: u64) -> Value {
        let mut detail = match self {
            Self::UserCreated {
                user_id,
                appid,
                via,
            } => json!({"user_id": user_id.as_str(), "appid": appid.as_str(), "via": via}),
            Self::PhoneBound { user_id, change } => {
                json!({"user_id": user_id.as_str(), "change": change})
            }
            Self::UserDeleted { user_id } => json!({"user_id": user_id.as_str()}),
        };
        if let Some(object) = detail.as_object_mut() {
            object.insert("event_id".into(), json!(crate::crypto::random_id(16)));
            object.insert("occurred_at".into(), json!(crate::clock::rfc3339(now)));
        }
        detail
    }
}

/// Where events go.
pub enum Sink {
    #[cfg(feature = "events")]
    EventBridge(eventbridge::EventBridgeSink),
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs the process's sink (once; a second call is ignored). Without one, events are off.
pub fn install(sink: Sink) {
    let _ = SINK.set(sink);
}

/// Turns events on when `EVENT_BUS_NAME` named a bus (`config.event_bus_name`), with the sink
/// `make` builds for it; off otherwise. A bus named but no sink buildable fails the start.
#[cfg(feature = "events")]
pub fn install_for_bus(
    bus: Option<&str>,
    make: impl FnOnce(&str) -> Result<eventbridge::EventBridgeSink, String>,
) -> Result<(), String> {
    if let Some(bus) = bus {
        install(Sink::EventBridge(make(bus)?));
        tracing::info!(bus, "account events on");
    }
    Ok(())
}

/// Announces `event`, if a sink is installed; never fails the caller.
pub async fn publish(event: AccountEvent<'_>) {
    #[cfg(feature = "events")]
    if let Some(Sink::EventBridge(bus)) = SINK.get() {
        bus.put(event).await;
    }
    #[cfg(not(feature = "events"))]
    let _ = (event, SINK.get());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_carry_ids_and_times_only() {
        let user = UserId::parse("u_abcdefghijklmnopqrstuvwxyz").unwrap();
        let appid = AppId::parse("wx0123456789abcdef").unwrap();
        let created = AccountEvent::UserCreated {
            user_id: &user,
            appid: &appid,
            via: "login",
        };
        let d = created.detail(1_600_000_000);
        assert_eq!(created.detail_type(), "UserCreated");
        assert_eq!(d["user_id"], "u_abcdefghijklmnopqrstuvwxyz");
        assert_eq!(d["appid"], "wx0123456789abcdef");
        assert_eq!(d["occurred_at"], "2020-09-13T12:26:40Z");
        assert_eq!(d["event_id"].as_str().unwrap().len(), 26);
        let bound = AccountEvent::PhoneBound {
            user_id: &user,
            change: true,
        }
        .detail(0);
        assert_eq!(
            bound.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["change", "event_id", "occurred_at", "user_id"]
        );
        assert_ne!(
            created.detail(0)["event_id"],
            created.detail(0)["event_id"],
            "each announcement has its own id"
        );
    }
}
