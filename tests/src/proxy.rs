//! A recording proxy in front of moto: forwards every AWS call and keeps (operation, body),
//! so the bench can count calls per request and tests can read what was sent (an SMS text).
//! Replaying, it forwards each distinct call once and answers its repeats from memory, so the
//! bench can time a function's cold start without moto's own time in it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wxlogin::fake::{HttpServer, serve};
use wxlogin::http::{HttpRequest, HttpResponse};

/// One forwarded call: `X-Amz-Target` (JSON protocols) or `Action=` (query protocol), and body.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub body: String,
}

pub struct RecordingProxy {
    pub server: HttpServer,
    calls: Arc<Mutex<Vec<Call>>>,
}

/// Answers already given, by (operation, body).
type Answers = Arc<Mutex<HashMap<(String, String), HttpResponse>>>;

impl RecordingProxy {
    pub async fn start(upstream: String) -> Self {
        Self::start_with(upstream, false).await
    }

    /// Forwards each distinct (operation, body) once; its repeats get the first answer, at
    /// once. Only for calls whose answer does not change (the bench's key reads).
    pub async fn start_replaying(upstream: String) -> Self {
        Self::start_with(upstream, true).await
    }

    async fn start_with(upstream: String, replay: bool) -> Self {
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let answers: Answers = Arc::default();
        let keep = calls.clone();
        let client = reqwest::Client::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(
            listener,
            Arc::new(move |req: HttpRequest| {
                let (client, upstream, keep) = (client.clone(), upstream.clone(), keep.clone());
                let answers = answers.clone();
                Box::pin(async move {
                    let body = String::from_utf8_lossy(&req.body).into_owned();
                    let operation = req
                        .header("x-amz-target")
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            form_field(&body, "Action")
                                .map(|a| format!("query.{a}"))
                                .unwrap_or_else(|| "other".into())
                        });
                    let key = (operation.clone(), body.clone());
                    keep.lock().unwrap().push(Call { operation, body });
                    if replay && let Some(answer) = answers.lock().unwrap().get(&key) {
                        return answer.clone();
                    }
                    let query = if req.query.is_empty() {
                        String::new()
                    } else {
                        format!("?{}", req.query)
                    };
                    let mut forward = client.request(
                        req.method.parse().unwrap(),
                        format!("{upstream}{}{query}", req.path),
                    );
                    for (k, v) in &req.headers {
                        if k != "host" && k != "content-length" {
                            forward = forward.header(k, v);
                        }
                    }
                    let reply = forward.body(req.body).send().await.unwrap();
                    let status = reply.status().as_u16();
                    let headers = reply
                        .headers()
                        .iter()
                        .filter(|(k, _)| {
                            k.as_str() != "content-length" && k.as_str() != "transfer-encoding"
                        })
                        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_owned())))
                        .collect();
                    let answer = HttpResponse {
                        status,
                        headers,
                        body: reply.text().await.unwrap_or_default(),
                    };
                    if replay {
                        answers.lock().unwrap().insert(key, answer.clone());
                    }
                    answer
                })
            }),
        )
        .unwrap();
        Self { server, calls }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Takes every call recorded so far.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    /// The last SMS text published to `e164`.
    pub fn last_sms_to(&self, e164: &str) -> Option<String> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .rev()
            .filter(|c| c.operation == "query.Publish")
            .find(|c| form_field(&c.body, "PhoneNumber").as_deref() == Some(e164))
            .and_then(|c| form_field(&c.body, "Message"))
    }
}

fn form_field(body: &str, name: &str) -> Option<String> {
    wxlogin::fake::server::decode_query(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The 6-digit code in an SMS text.
pub fn code_in(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(str::to_owned)
}
