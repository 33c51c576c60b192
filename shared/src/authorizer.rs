//! The authorizer function: an API Gateway HTTP API Lambda authorizer, payload format 2.0 with
//! simple responses. Any event, however malformed, gets an answer: `isAuthorized: true` with
//! the caller's context for a valid access token, `false` with `{}` for anything else.
//!
//! Routes are tied to mini programs by authorizer: each authorizer admits the apps named in
//! its `AUTHORIZER_APP_IDS` (the template sets the stack's `WeChatAppId`), so a token issued to
//! app A is refused on routes behind app B's authorizer. Empty admits every app this
//! deployment issues tokens for. The context carries `appid` for routes that check further.

use crate::gate::AccessGate;
use crate::tokens::PublishedKeySource;
use serde_json::{Value, json};
use std::time::Instant;

/// The token of `Bearer <token>` from the identity source, or the `authorization` header.
fn bearer(event: &Value) -> Option<&str> {
    // `get` + `as_array`, not `pointer("/identitySource/0")`: a pointer also matches the key
    // "0" of an object, and identitySource is an array in payload 2.0.
    let raw = event
        .get("identitySource")
        .and_then(Value::as_array)
        .and_then(|sources| sources.first())
        .and_then(Value::as_str)
        .or_else(|| {
            event
                .pointer("/headers/authorization")
                .and_then(Value::as_str)
        })?;
    let (scheme, token) = raw.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The apps an authorizer admits (`AUTHORIZER_APP_IDS`); empty admits all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdmittedApps(Vec<String>);

impl AdmittedApps {
    pub fn new(appids: Vec<String>) -> Self {
        Self(appids)
    }

    fn admits(&self, appid: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|a| a == appid)
    }
}

pub async fn authorize<D: PublishedKeySource>(
    gate: &AccessGate<D>,
    apps: &AdmittedApps,
    event: &Value,
) -> Value {
    let started = Instant::now();
    let request_id = event
        .pointer("/requestContext/requestId")
        .and_then(Value::as_str)
        .unwrap_or("");
    let outcome = match bearer(event) {
        None => Err("no bearer token".to_owned()),
        Some(token) => match gate.authenticate(token).await {
            Ok(caller) if apps.admits(caller.appid.as_str()) => Ok(caller),
            Ok(_) => Err("token issued to an app this authorizer does not admit".to_owned()),
            Err(e) => Err(e.to_string()),
        },
    };
    let latency_us = started.elapsed().as_micros() as u64;
    crate::metrics::duration(started.elapsed().as_secs_f64() * 1000.0);
    match outcome {
        Ok(caller) => {
            tracing::info!(request_id, route = "authorizer", authorized = true, user_id = %caller.user_id, latency_us, "request");
            json!({
                "isAuthorized": true,
                "context": {
                    "user_id": caller.user_id.as_str(),
                    "appid": caller.appid.as_str(),
                    "openid": caller.openid.as_str(),
                    "phone_bound": caller.phone_bound,
                }
            })
        }
        Err(reason) => {
            tracing::info!(
                request_id,
                route = "authorizer",
                authorized = false,
                reason,
                latency_us,
                "request"
            );
            json!({"isAuthorized": false, "context": {}})
        }
    }
}
