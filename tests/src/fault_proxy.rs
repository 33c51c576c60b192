//! A fault-injecting proxy in front of moto: forwards every AWS call, counts calls per
//! operation (`X-Amz-Target`, e.g. `DynamoDB_20120810.TransactWriteItems`), and can make
//! the next N calls of an operation — or every call whose operation starts with a prefix,
//! until [`FaultProxy::restore`] — answer a [`Fault`] instead: the exact JSON error a service
//! sends, or a connection dropped without an answer (the service is down).
//!
//! [`FaultProxy::close_port`] turns the endpoint into a closed port (connections refused).
//!
//! A function binary points `AWS_ENDPOINT_URL` at it. Tests read and seed the table through
//! moto directly, so their own calls are neither counted nor faulted.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// DynamoDB's JSON protocol (awsJson1_0) operation prefix.
pub const DYNAMODB: &str = "DynamoDB_20120810.";
/// Secrets Manager's JSON protocol (awsJson1_1) operation prefix.
pub const SECRETS_MANAGER: &str = "secretsmanager.";
pub const TRANSACT_WRITE_ITEMS: &str = "DynamoDB_20120810.TransactWriteItems";
pub const PUT_ITEM: &str = "DynamoDB_20120810.PutItem";
pub const GET_ITEM: &str = "DynamoDB_20120810.GetItem";
pub const GET_SECRET_VALUE: &str = "secretsmanager.GetSecretValue";

/// How a faulted call is answered.
#[derive(Debug, Clone)]
pub enum Fault {
    /// An AWS JSON-protocol error, as the service sends it.
    Json {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// The connection is closed without an answer.
    Drop,
    /// The call reaches the service (its write happens), then the connection is closed
    /// without its answer: a crash or a lost reply after the write.
    LostAnswer,
}

fn dynamodb_error(status: u16, body: serde_json::Value) -> Fault {
    Fault::Json {
        status,
        content_type: "application/x-amz-json-1.0",
        body: body.to_string(),
    }
}

impl Fault {
    /// A transaction cancelled because another transaction holds its second item: the body
    /// DynamoDB (and moto, `moto/dynamodb/exceptions.py`) sends.
    pub fn transaction_conflict() -> Self {
        dynamodb_error(
            400,
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
                "CancellationReasons": [
                    {"Code": "None"},
                    {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                ]
            }),
        )
    }

    /// DynamoDB's request-rate throttling.
    pub fn dynamodb_throttling() -> Self {
        dynamodb_error(
            400,
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "message": "Rate of requests exceeds the allowed throughput."
            }),
        )
    }

    /// A table or index over its provisioned (or on-demand burst) throughput.
    pub fn provisioned_throughput_exceeded() -> Self {
        dynamodb_error(
            400,
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
            }),
        )
    }

    /// An HTTP 500 from DynamoDB.
    pub fn dynamodb_internal_error() -> Self {
        dynamodb_error(
            500,
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "message": "Internal server error"
            }),
        )
    }

    /// Secrets Manager's throttling (awsJson1_1: `__type` without a namespace).
    pub fn secrets_throttling() -> Self {
        Fault::Json {
            status: 400,
            content_type: "application/x-amz-json-1.1",
            body: serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
                .to_string(),
        }
    }
}

#[derive(Default)]
struct State {
    /// Faults for the next calls of an exact operation, in order.
    next: HashMap<String, VecDeque<Fault>>,
    /// Every call whose operation starts with the prefix gets the fault.
    outages: Vec<(String, Fault)>,
    /// Every call of the exact operation whose body contains the text gets the fault.
    matching: Vec<(String, String, Fault)>,
    calls: HashMap<String, usize>,
    /// After [`FaultProxy::close_port`]: every request on a connection still open is dropped.
    closed: bool,
}

impl State {
    fn fault_for(&mut self, operation: &str, body: &[u8]) -> Option<Fault> {
        if let Some(f) = self.next.get_mut(operation).and_then(VecDeque::pop_front) {
            return Some(f);
        }
        let text = String::from_utf8_lossy(body);
        if let Some((_, _, f)) = self
            .matching
            .iter()
            .find(|(op, needle, _)| op == operation && text.contains(needle.as_str()))
        {
            return Some(f.clone());
        }
        self.outages
            .iter()
            .find(|(prefix, _)| operation.starts_with(prefix.as_str()))
            .map(|(_, f)| f.clone())
    }
}

/// A running proxy; dropping it stops accepting.
pub struct FaultProxy {
    pub addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operation of a call: `X-Amz-Target` (JSON protocols) or `query.<Action>`.
fn operation_of(headers: &hyper::HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.to_owned();
    }
    wxlogin::fake::server::decode_query(&String::from_utf8_lossy(body))
        .into_iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, a)| format!("query.{a}"))
        .unwrap_or_else(|| "other".into())
}

async fn handle(
    req: hyper::Request<Incoming>,
    upstream: String,
    client: reqwest::Client,
    state: Arc<Mutex<State>>,
) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let operation = operation_of(&parts.headers, &body);
    let fault = {
        let mut s = state.lock().unwrap();
        if s.closed {
            return Err(std::io::Error::other("fault: the port is closed"));
        }
        *s.calls.entry(operation.clone()).or_default() += 1;
        s.fault_for(&operation, &body)
    };
    match fault {
        Some(Fault::Drop) => Err(std::io::Error::other("fault: connection dropped")),
        Some(Fault::LostAnswer) => {
            forward(&upstream, &client, &parts, body).await?;
            Err(std::io::Error::other("fault: answer lost after the call"))
        }
        Some(Fault::Json {
            status,
            content_type,
            body,
        }) => Ok(hyper::Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header(
                "x-amzn-requestid",
                format!("FAULT{}", wxlogin::crypto::random_id(8)),
            )
            .body(Full::new(Bytes::from(body)))
            .unwrap()),
        None => forward(&upstream, &client, &parts, body).await,
    }
}

/// Sends the call on to the service and relays its answer.
async fn forward(
    upstream: &str,
    client: &reqwest::Client,
    parts: &hyper::http::request::Parts,
    body: Bytes,
) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
    let url = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut forward = client.request(parts.method.clone(), url);
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            forward = forward.header(k, v);
        }
    }
    let reply = forward
        .body(body.to_vec())
        .send()
        .await
        .map_err(std::io::Error::other)?;
    let mut builder = hyper::Response::builder().status(reply.status().as_u16());
    for (k, v) in reply.headers() {
        if k != "content-length" && k != "transfer-encoding" {
            builder = builder.header(k, v);
        }
    }
    let bytes = reply.bytes().await.map_err(std::io::Error::other)?;
    Ok(builder.body(Full::new(bytes)).unwrap())
}

impl FaultProxy {
    pub async fn start(upstream: String) -> Self {
        let state: Arc<Mutex<State>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = reqwest::Client::new();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (upstream, client, state) = (upstream.clone(), client.clone(), shared.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        handle(req, upstream.clone(), client.clone(), state.clone())
                    });
                    // A dropped-connection fault ends the connection with an error: expected.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` calls of `operation` (exact `X-Amz-Target`) get `fault`.
    pub fn fail_next(&self, operation: &str, n: usize, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        let queue = s.next.entry(operation.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(fault, n));
    }

    /// Every call whose operation starts with `prefix` gets `fault` until [`Self::restore`].
    pub fn fail_all(&self, prefix: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .outages
            .push((prefix.to_owned(), fault));
    }

    /// Every call of `operation` whose request body contains `needle` (an item's key prefix,
    /// say `"OPENID#`) gets `fault` until [`Self::restore`]: one step of a flow fails.
    pub fn fail_matching(&self, operation: &str, needle: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .matching
            .push((operation.to_owned(), needle.to_owned(), fault));
    }

    /// Ends every outage and drops the faults not yet served.
    pub fn restore(&self) {
        let mut s = self.state.lock().unwrap();
        s.outages.clear();
        s.matching.clear();
        s.next.clear();
    }

    /// Stops listening, so that new connections are refused, and drops the next request on
    /// every connection still open: from now on the endpoint is a closed port. For good.
    pub fn close_port(&self) {
        self.state.lock().unwrap().closed = true;
        self.task.abort();
    }

    /// Calls of `operation` seen so far (faulted or forwarded).
    pub fn calls(&self, operation: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Calls of every operation starting with `prefix` seen so far.
    pub fn calls_with_prefix(&self, prefix: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(op, _)| op.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Forgets the counts (not the faults).
    pub fn reset_counts(&self) {
        self.state.lock().unwrap().calls.clear();
    }
}
