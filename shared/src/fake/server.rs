//! A minimal HTTP/1.1 server over hyper: each request becomes an `HttpRequest`, the handler's
//! `HttpResponse` goes back. Used by the fake WeChat, the local server and the test emulator.

use crate::http::{HttpRequest, HttpResponse, MAX_BODY_BYTES};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub type Handler = Arc<dyn Fn(HttpRequest) -> BoxFuture<HttpResponse> + Send + Sync>;

/// A running server; dropping it stops accepting.
pub struct HttpServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `handler` on `listener` until the returned server is dropped. Bodies are capped at
/// 4× the API's limit so that the API's own 16 KiB check is what tests exercise.
pub fn serve(listener: TcpListener, handler: Handler) -> std::io::Result<HttpServer> {
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let response = match to_request(req, peer).await {
                            Some(request) => handler(request).await,
                            None => HttpResponse::json(
                                413,
                                &serde_json::json!({"error": {"code": "INVALID_REQUEST", "message": "body too large", "request_id": ""}}),
                            ),
                        };
                        Ok::<_, std::convert::Infallible>(to_hyper(response))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(HttpServer { addr, task })
}

async fn to_request(req: hyper::Request<Incoming>, peer: SocketAddr) -> Option<HttpRequest> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES * 4)
        .collect()
        .await
        .ok()?
        .to_bytes();
    Some(HttpRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_ascii_lowercase(), v.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
        source_ip: Some(peer.ip().to_string()),
        request_id: crate::crypto::random_id(10),
        authorizer: None,
    })
}

fn to_hyper(response: HttpResponse) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(response.status);
    for (k, v) in &response.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::from_static(b"{}"))))
}

/// Decodes a query string into pairs.
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}
