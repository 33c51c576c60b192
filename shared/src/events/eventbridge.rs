//! The EventBridge sink: one signed `PutEvents` per event (`aws_signed`, no SDK client: the
//! functions that announce already link the signer, and an EventBridge SDK would add to every
//! one of them), with the function's own credentials, to the regional endpoint of the
//! partition or `AWS_ENDPOINT_URL_EVENTS`/`AWS_ENDPOINT_URL`.

use super::{AccountEvent, SOURCE};
use crate::aws_signed::{JsonApi, SignedHttp, post_json};
use crate::clock::{Clock, SystemClock};
use crate::metrics::{self, Counter};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use serde_json::{Value, json};
use std::time::Duration;

/// One attempt, at most this long: an event must not hold up the request it announces.
const PUT_TIMEOUT: Duration = Duration::from_secs(1);

pub struct EventBridgeSink {
    http: SignedHttp,
    endpoint: String,
    region: String,
    bus: String,
    credentials: SharedCredentialsProvider,
}

impl EventBridgeSink {
    /// A sink putting on `bus` in `region` with `credentials`, to the partition's regional
    /// endpoint or the override.
    pub fn new(
        region: &str,
        credentials: SharedCredentialsProvider,
        bus: &str,
    ) -> Result<Self, String> {
        let endpoint = crate::partition::endpoint_override(|n| std::env::var(n).ok(), "events")
            .unwrap_or_else(|| crate::partition::regional_endpoint("events", region));
        let http = SignedHttp::new(PUT_TIMEOUT, PUT_TIMEOUT)?;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            bus: bus.to_owned(),
            credentials,
        })
    }

    /// With `sdk`'s region and credentials chain (refreshed by it).
    #[cfg(feature = "sdk-config")]
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bus: &str) -> Result<Self, String> {
        let region = sdk
            .region()
            .map(ToString::to_string)
            .ok_or("EVENT_BUS_NAME is set but no AWS region is")?;
        let credentials = sdk
            .credentials_provider()
            .ok_or("EVENT_BUS_NAME is set but no AWS credentials are")?;
        Self::new(&region, credentials, bus)
    }

    /// With the region and credentials of the Lambda environment (a function without
    /// aws-config).
    pub fn from_lambda_env(bus: &str) -> Result<Self, String> {
        let (region, credentials) = crate::aws::lambda_credentials()?;
        Self::new(&region, SharedCredentialsProvider::new(credentials), bus)
    }

    /// The `PutEvents` request body for `event`.
    pub fn entry(&self, event: &AccountEvent<'_>, now: u64) -> Value {
        json!({"Entries": [{
            "Source": SOURCE,
            "DetailType": event.detail_type(),
            "Detail": event.detail(now).to_string(),
            "EventBusName": self.bus,
        }]})
    }

    pub async fn put(&self, event: AccountEvent<'_>) {
        if let Err(why) = self.try_put(&event).await {
            metrics::count(Counter::EventsFailed);
            tracing::warn!(event = event.detail_type(), error = %why, "account event not put");
        }
    }

    async fn try_put(&self, event: &AccountEvent<'_>) -> Result<(), String> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|_| "no credentials".to_owned())?;
        let api = JsonApi {
            endpoint: &self.endpoint,
            region: &self.region,
            service: "events",
            content_type: "application/x-amz-json-1.1",
        };
        let body = self.entry(event, SystemClock.now()).to_string();
        let (status, text) = post_json(&self.http, api, "AWSEvents.PutEvents", body, &credentials)
            .await
            .map_err(|e| e.report())?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // Errors name their type (`__type`) and failed entries their code; never a value.
        if !(200..300).contains(&status) {
            let kind = answer
                .get("__type")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            return Err(format!("PutEvents HTTP {status} ({kind})"));
        }
        match answer.get("FailedEntryCount").and_then(Value::as_u64) {
            Some(0) => Ok(()),
            _ => Err(format!(
                "PutEvents refused the entry ({})",
                answer
                    .pointer("/Entries/0/ErrorCode")
                    .and_then(Value::as_str)
                    .unwrap_or("no code")
            )),
        }
    }
}
