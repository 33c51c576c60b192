//! The code-exchange function: `POST /auth/login` (optionally with a phone proof to bind in
//! the same request), `POST /auth/refresh`.

use super::{not_found, respond};
use crate::domain::LoginCode;
use crate::error::AppError;
use crate::flows::bind_phone::PhoneProof;
use crate::flows::{Backend, LoginRequest};
use crate::http::body::parse_json;
use crate::http::{HttpRequest, HttpResponse};
use crate::http::{answers, error_table};
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
    /// A phone proof to bind in the same request (`flows/login_with_phone.rs`).
    #[serde(default)]
    phone_code: Option<String>,
    #[serde(default)]
    encrypted_data: Option<String>,
    #[serde(default)]
    iv: Option<String>,
}

impl LoginBody {
    /// The phone proof sent with the login, if any: `phone_code`, or `encrypted_data` + `iv`.
    fn phone_proof(&mut self) -> Result<Option<PhoneProof>, AppError> {
        match (
            self.phone_code.take(),
            self.encrypted_data.take(),
            self.iv.take(),
        ) {
            (None, None, None) => Ok(None),
            (Some(code), None, None) => {
                LoginCode::parse(&code)
                    .map_err(|_| AppError::InvalidRequest("phone_code is malformed"))?;
                Ok(Some(PhoneProof::Code(code)))
            }
            (None, Some(encrypted_data), Some(iv)) => {
                Ok(Some(PhoneProof::Encrypted { encrypted_data, iv }))
            }
            _ => Err(AppError::InvalidRequest(
                "send phone_code, or encrypted_data with iv, or neither",
            )),
        }
    }
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
                let mut body: LoginBody = parse_json(&request.body)?;
                let code =
                    LoginCode::parse(&body.code).map_err(|e| AppError::InvalidRequest(e.0))?;
                let proof = body.phone_proof()?;
                let login = LoginRequest {
                    code,
                    appid: body.appid,
                    source_ip: request.source_ip.clone(),
                };
                let Some(proof) = proof else {
                    return Ok(answers::login(&backend.login(login).await?));
                };
                // Boxed: the login and the bind nested in one handler overflow rustc's query depth.
                let both = Box::pin(backend.login_with_phone(login, proof)).await?;
                let phone_error = both
                    .phone_error
                    .as_ref()
                    .map(|e| error_table::embedded_error(e, &request.request_id));
                Ok(answers::login_with(&both.outcome, phone_error))
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
