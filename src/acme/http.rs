//! The HTTPS client for the ACME server: HTTP/1.1 with a connection pool,
//! trusting the platform's roots, or exactly the `acme.trust_roots` given
//! (test CAs such as Pebble).
//!
//! instant-acme's default client multiplexes every request over one HTTP/2
//! connection; with a few hundred orders in flight that connection stalled
//! against Pebble (observed at 159 orders, no timeout to end it). Separate
//! HTTP/1.1 connections keep one slow request from holding up the others.

use std::path::PathBuf;

use bytes::Bytes;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, HttpClient};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Connections kept open to the ACME server.
const POOL: usize = 64;

/// Build the client; the error names the trust root that could not be used.
pub fn client(trust_roots: &[PathBuf]) -> Result<Box<dyn HttpClient>, String> {
    let builder = HttpsConnectorBuilder::new();
    let builder = if trust_roots.is_empty() {
        builder
            .try_with_platform_verifier()
            .map_err(|e| format!("the platform's certificate verifier: {e}"))?
    } else {
        let mut roots = RootCertStore::empty();
        for path in trust_roots {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let mut n = 0;
            for cert in certs {
                let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                n += 1;
            }
            if n == 0 {
                return Err(format!("{}: no certificate in the file", path.display()));
            }
        }
        builder.with_tls_config(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    };
    let connector = builder.https_only().enable_http1().build();
    let client: Client<_, BodyWrapper<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(POOL)
        .build(connector);
    Ok(Box::new(client))
}
