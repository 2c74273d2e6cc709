//! TEMPORARY STUB (lead): replaced by the propagation implementation.
#![allow(missing_docs, unreachable_pub, clippy::unused_async)]
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
}
pub struct PropagationReport;
impl PropagationReport {
    pub fn failed_owners(&self) -> BTreeSet<String> {
        BTreeSet::new()
    }
    pub fn describe_failures(&self) -> Vec<String> {
        Vec::new()
    }
}
pub async fn authoritative_servers(
    _c: &[String],
    _z: &str,
    _r: SocketAddr,
    _t: Duration,
) -> Result<Vec<Server>, String> {
    Err("stub".into())
}
pub async fn wait_for(
    _s: &[Server],
    _z: &str,
    _serial: u32,
    _e: &BTreeMap<String, BTreeSet<String>>,
    _t: Duration,
    _p: Duration,
) -> PropagationReport {
    PropagationReport
}
