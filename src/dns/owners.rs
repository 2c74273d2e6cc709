//! TEMPORARY STUB (lead): replaced by the owners implementation.
#![allow(missing_docs, unreachable_pub, clippy::unused_async)]
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
pub struct Owner {
    pub fqdn: String,
    pub label: String,
}
pub async fn resolve_owners(
    _r: SocketAddr,
    _zone: &str,
    _names: &[String],
    _t: Duration,
) -> BTreeMap<String, Result<Owner, String>> {
    BTreeMap::new()
}
