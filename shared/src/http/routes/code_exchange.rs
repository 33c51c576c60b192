//! The code-exchange function: `POST /auth/login`, `POST /auth/refresh`.

use super::{not_found, respond};
use crate::domain::LoginCode;
use crate::error::AppError;
use crate::flows::{Backend, LoginRequest};
use crate::http::answers;
use crate::http::body::parse_json;
use crate::http::{HttpRequest, HttpResponse};
use crate::secrets::SecretSource;
use crate::store::Store;
use crate::wechat::WeChatApi;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    code: String,
    #[serde(default)]
    appid: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

/// Whether this function serves the request's route.
pub fn serves(request: &HttpRequest) -> bool {
    request.method == "POST" && matches!(request.path.as_str(), "/auth/login" | "/auth/refresh")
}

pub async fn handle<S: Store, W: WeChatApi, X: SecretSource>(
    backend: &Backend<S, W, X>,
    request: &HttpRequest,
) -> HttpResponse {
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/auth/login") => {
            respond(request, "POST /auth/login", async {
                let body: LoginBody = parse_json(&request.body)?;
                let code =
                    LoginCode::parse(&body.code).map_err(|e| AppError::InvalidRequest(e.0))?;
                let outcome = backend
                    .login(LoginRequest {
                        code,
                        appid: body.appid,
                        source_ip: request.source_ip.clone(),
                    })
                    .await?;
                Ok(answers::login(&outcome))
            })
            .await
        }
        ("POST", "/auth/refresh") => {
            respond(request, "POST /auth/refresh", async {
                let body: RefreshBody = parse_json(&request.body)?;
                if body.refresh_token.len() > 256 {
                    return Err(AppError::InvalidRequest("refresh_token is too long"));
                }
                Ok(answers::tokens(
                    &backend.refresh(&body.refresh_token).await?,
                ))
            })
            .await
        }
        _ => not_found(request),
    }
}
