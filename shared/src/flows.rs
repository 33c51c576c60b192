//! The login rules, as pure flows over the ports (`Store`, `WeChatApi`, `SecretSource`,
//! `Clock`) — no AWS SDK, no HTTP, no Lambda types here. One module per flow.

pub mod abuse_guard;
pub mod admin;
pub mod app_secret;
pub mod backend;
pub mod bind_phone;
pub mod binding;
pub mod change_phone;
pub mod delete_account;
pub mod export;
pub mod import;
pub mod import_plan;
pub mod key_rotation;
pub mod live_session;
pub mod login;
pub mod login_with_phone;
pub mod password;
pub mod password_guard;
pub mod password_reset;
pub mod profile;
pub mod refresh;
pub mod session;
pub mod session_tokens;
pub mod sms;

pub use backend::Backend;
pub use login::{LoginOutcome, LoginRequest};
pub use session::SessionService;
pub use session_tokens::{SessionTokens, UserView};

#[cfg(test)]
mod account_tests;
#[cfg(test)]
mod bind_tests;
#[cfg(test)]
mod change_tests;
#[cfg(test)]
mod credential_tests;
#[cfg(test)]
mod delete_tests;
#[cfg(test)]
mod disable_tests;
#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod import_tests;
#[cfg(test)]
mod login_tests;
#[cfg(test)]
mod login_with_phone_tests;
#[cfg(test)]
mod refresh_tests;
#[cfg(test)]
mod reset_tests;
