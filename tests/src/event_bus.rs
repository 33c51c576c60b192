//! An EventBridge bus in moto whose events land in a CloudWatch Logs group (a rule on the
//! bus matching source `wxlogin`, the group as its target: moto delivers them there), for
//! reading back what the functions put. Calls are signed by the product's own `aws_signed`.

use crate::moto;
use serde_json::{Value, json};
use std::time::Duration;
use wxlogin::aws_signed::{JsonApi, SignedHttp, post_json};

pub struct EventBus {
    endpoint: String,
    pub name: String,
    log_group: String,
}

async fn call(endpoint: &str, service: &str, version: &str, target: &str, body: Value) -> Value {
    let api = JsonApi {
        endpoint,
        region: "us-east-1",
        service,
        content_type: version,
    };
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "moto");
    let http = SignedHttp::new(Duration::from_secs(5), Duration::from_secs(30)).unwrap();
    let (status, text) = post_json(&http, api, target, body.to_string(), &credentials)
        .await
        .unwrap();
    assert!((200..300).contains(&status), "{target}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

impl EventBus {
    /// A fresh bus, rule and log group in the moto at `endpoint`.
    pub async fn create(endpoint: &str) -> Self {
        let name = moto::unique("wxlogin-events");
        let log_group = format!("/aws/events/{name}");
        let events = |target: &'static str, body: Value| {
            call(
                endpoint,
                "events",
                "application/x-amz-json-1.1",
                target,
                body,
            )
        };
        call(
            endpoint,
            "logs",
            "application/x-amz-json-1.1",
            "Logs_20140328.CreateLogGroup",
            json!({"logGroupName": log_group}),
        )
        .await;
        events("AWSEvents.CreateEventBus", json!({"Name": name})).await;
        events(
            "AWSEvents.PutRule",
            json!({"Name": "to-logs", "EventBusName": name, "EventPattern": json!({"source": ["wxlogin"]}).to_string()}),
        )
        .await;
        events(
            "AWSEvents.PutTargets",
            json!({"Rule": "to-logs", "EventBusName": name, "Targets": [{"Id": "logs", "Arn": format!("arn:aws:logs:us-east-1:123456789012:log-group:{log_group}")}]}),
        )
        .await;
        Self {
            endpoint: endpoint.to_owned(),
            name,
            log_group,
        }
    }

    /// Every event the bus delivered so far, oldest first.
    pub async fn delivered(&self) -> Vec<Value> {
        let answer = call(
            &self.endpoint,
            "logs",
            "application/x-amz-json-1.1",
            "Logs_20140328.FilterLogEvents",
            json!({"logGroupName": self.log_group}),
        )
        .await;
        let mut logged: Vec<(u64, Value)> = answer["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                (
                    e["timestamp"].as_u64().unwrap_or(0),
                    serde_json::from_str(e["message"].as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        logged.sort_by_key(|(t, _)| *t);
        logged.into_iter().map(|(_, event)| event).collect()
    }
}
