//! The integration tests as one test binary: each module is one file of tests/tests/, one tier or
//! one route. One binary links the SDK once instead of once per file, which keeps the test
//! target small on disk (CI ran out of space with fourteen) and saves thirteen links.

mod abuse_guard;
mod account;
mod account_deletion;
mod account_events;
mod admin_tool;
mod authorizer;
mod bad_inputs;
mod bind_phone;
mod china_sms;
mod code_exchange;
mod dependency_faults;
mod dynamo_store;
mod event_files;
mod hostile_tokens_everywhere;
mod import;
mod key_rotation;
mod log_hygiene;
mod login_with_phone;
mod session;
mod wechat_faults;
