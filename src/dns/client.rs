//! TEMPORARY STUB (lead): replaced by the DNS client implementation.
#![allow(missing_docs, unreachable_pub, clippy::unused_async)]
use std::net::SocketAddr;
pub async fn parse_server(_text: &str, _default_port: u16) -> Result<SocketAddr, String> {
    Err("stub".into())
}
pub fn system_resolver() -> Result<SocketAddr, String> {
    Err("stub".into())
}
