//! Stand-ins for what cannot be reached from a laptop or CI (feature `fake`): a fake WeChat
//! that speaks the exact wire format of `wechat-api.md` over real HTTP, and the small HTTP
//! server both it and the local server run on. Never linked into a Lambda binary.

pub mod hostile_tokens;
pub mod server;
pub mod wechat;

pub use server::decode_query;
pub use server::{HttpServer, serve};
pub use wechat::{FakeWeChat, Misbehaviour};
