//! Stand-ins for what cannot be reached from a laptop or CI (feature `fake`): a fake WeChat
//! that speaks the exact wire format of `wechat-api.md` over real HTTP, fake Alibaba Cloud and
//! Tencent Cloud SMS gateways that verify signatures as documented, and the small HTTP server
//! they and the local server run on. Never linked into a Lambda binary.

pub mod aliyun_sms;
pub mod hostile_tokens;
pub mod server;
pub mod sms_outbox;
pub mod tencent_sms;
pub mod wechat;

pub use aliyun_sms::FakeAliyunSms;
pub use server::decode_query;
pub use server::{HttpServer, serve};
pub use sms_outbox::{FakeSms, Outbox};
pub use tencent_sms::FakeTencentSms;
pub use wechat::{FakeWeChat, Misbehaviour};
