//! The lenient fake WeChat on its own, for `sam local invoke` (`scripts/sam-local.sh`): the
//! functions run in Docker containers and reach the host through the bridge, so the fake must
//! listen where they can reach it. The fake itself binds 127.0.0.1; this runner forwards
//! `--listen` (default `0.0.0.0:5001`) to it, byte for byte.
//!
//! Lenient as in the local server: any well-formed login code is accepted once ("alice-1" and
//! "alice-2" are user alice), a phone code starting with 11 digits ("13800138000-1") proves
//! that number once. Only the app `--appid` with `--secret` is known; the seed script
//! (`scripts/seed-local-moto.py`) puts the same pair in the WeChat secret.
//!
//!   fake-wechat [--listen ADDR:PORT] [--appid wx...] [--secret S]
//!
//! Prints `fake WeChat on http://ADDR:PORT` once it accepts connections; runs until killed.

use std::net::SocketAddr;
use wxlogin::fake::FakeWeChat;

const DEFAULT_LISTEN: &str = "0.0.0.0:5001";
const DEFAULT_APPID: &str = "wxlocal0000000000";
const DEFAULT_SECRET: &str = "local-app-secret";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen = DEFAULT_LISTEN.to_owned();
    let mut appid = DEFAULT_APPID.to_owned();
    let mut secret = DEFAULT_SECRET.to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--listen" => &mut listen,
            "--appid" => &mut appid,
            "--secret" => &mut secret,
            other => {
                return Err(format!("unknown argument {other:?}; see the file's header").into());
            }
        };
        *slot = args.next().ok_or(format!("{flag} needs a value"))?;
    }
    let listen: SocketAddr = listen.parse()?;

    let fake = FakeWeChat::lenient();
    fake.add_app(&appid, &secret);
    let inner = fake.start(0).await?;
    let upstream = inner.addr;

    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!(
        "fake WeChat on http://{} (app {appid}; forwarding to {upstream})",
        listener.local_addr()?
    );
    loop {
        let (mut client, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
    }
}
