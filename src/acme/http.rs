//! The HTTPS client for the ACME server: HTTP/1.1 with a connection pool,
//! trusting the platform's roots, or exactly the `acme.trust_roots` given
//! (test CAs such as Pebble), and riding out a misbehaving CA.
//!
//! instant-acme's default client multiplexes every request over one HTTP/2
//! connection; with a few hundred orders in flight that connection stalled
//! against Pebble (observed at 159 orders, no timeout to end it). Separate
//! HTTP/1.1 connections keep one slow request from holding up the others.
//!
//! Retries live here, below instant-acme, because only here is it known
//! whether a request could have reached the CA. Every attempt resends the
//! very bytes of the first: a signed request carries a nonce the CA accepts
//! once, so a copy that arrives twice is refused (`badNonce`) instead of
//! being acted on twice. instant-acme then signs afresh with the nonce that
//! refusal carries, which is harmless for everything but a new order: an
//! order whose answer was lost may exist already, so a new order is only
//! sent again when the CA provably did not act on it (the connection was
//! never made, or the CA answered `rateLimited`). A short `Retry-After` on
//! a 429 is waited out here; a long one goes up with its time written into
//! the problem detail, where [`super::ratelimit`] turns it into a hold.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use jiff::Timestamp;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Connections kept open to the ACME server.
const POOL: usize = 64;
/// Requests in flight at once. Hundreds of orders answer and poll together;
/// past a few dozen requests the CA gets no faster, but every extra
/// connection costs a TLS handshake on both ends (against Pebble on the
/// same two cores, 200 orders opened ~190 connections at once and the
/// first answers waited 0.1 s for them).
const IN_FLIGHT: usize = 16;
/// Attempts per request, the first included.
pub const ATTEMPTS: u32 = 4;
/// Wait before the first retry; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest `Retry-After` waited out within a pulse; a longer one fails
/// the request (and a 429 becomes a hold across pulses).
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);
/// One attempt that takes longer than this counts as lost.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

type Inner = Client<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>;

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
    let inner: Inner = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(POOL)
        .build(connector);
    Ok(Box::new(Retrying {
        inner,
        in_flight: std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)),
    }))
}

/// The pooled client with retries around each request.
struct Retrying {
    inner: Inner,
    in_flight: std::sync::Arc<tokio::sync::Semaphore>,
}

/// How one attempt ended.
pub enum Attempt {
    /// The CA answered.
    Answer(BytesResponse),
    /// The request never left this host (no connection could be made).
    NotSent(instant_acme::Error),
    /// The connection failed or timed out after the request may have left.
    Lost(instant_acme::Error),
}

impl HttpClient for Retrying {
    fn request(
        &self,
        req: Request<BodyWrapper<Bytes>>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>>
    {
        let inner = self.inner.clone();
        let in_flight = std::sync::Arc::clone(&self.in_flight);
        Box::pin(send(req, move |req| {
            let inner = inner.clone();
            let in_flight = std::sync::Arc::clone(&in_flight);
            async move {
                within(&in_flight, async move {
                    match tokio::time::timeout(ATTEMPT_TIMEOUT, inner.request(req)).await {
                        Ok(Ok(rsp)) => Attempt::Answer(BytesResponse::from(rsp)),
                        Ok(Err(e)) if e.is_connect() => {
                            Attempt::NotSent(instant_acme::Error::Other(Box::new(e)))
                        }
                        Ok(Err(e)) => Attempt::Lost(instant_acme::Error::Other(Box::new(e))),
                        Err(_) => Attempt::Lost(instant_acme::Error::Str(
                            "the CA did not answer within 30s",
                        )),
                    }
                })
                .await
            }
        }))
    }
}

/// Run one attempt holding one of the `IN_FLIGHT` permits: for the attempt
/// only, not across a retry's backoff.
pub async fn within(
    in_flight: &tokio::sync::Semaphore,
    attempt: impl Future<Output = Attempt>,
) -> Attempt {
    let _permit = in_flight.acquire().await;
    attempt.await
}

/// Send `req` through `attempt`, retrying as the module describes.
pub async fn send<F, Fut>(
    req: Request<BodyWrapper<Bytes>>,
    attempt: F,
) -> Result<BytesResponse, instant_acme::Error>
where
    F: Fn(Request<BodyWrapper<Bytes>>) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let (parts, body) = req.into_parts();
    let body = match BytesResponse::from(Response::new(body))
        .body
        .into_bytes()
        .await
    {
        Ok(b) => b,
        Err(e) => return Err(instant_acme::Error::Other(e)),
    };
    let new_order = parts.method == http::Method::POST && is_new_order(&body);
    let what = format!("{} {}", parts.method, parts.uri.path());
    let mut backoff = FIRST_BACKOFF;
    for n in 1..=ATTEMPTS {
        let mut copy = Request::builder()
            .method(parts.method.clone())
            .uri(parts.uri.clone())
            .version(parts.version);
        if let Some(h) = copy.headers_mut() {
            *h = parts.headers.clone();
        }
        let copy = copy.body(BodyWrapper::from(body.to_vec()))?;
        let last = n == ATTEMPTS;
        let (wait, why) = match attempt(copy).await {
            Attempt::Answer(rsp) => {
                let status = rsp.parts.status;
                let asked = retry_after(&rsp.parts.headers, Timestamp::now());
                let retry = if status == StatusCode::TOO_MANY_REQUESTS {
                    // The CA refused: safe to send again, new orders too.
                    asked.filter(|d| *d <= MAX_INLINE_WAIT)
                } else if status.is_server_error() && !new_order {
                    match asked {
                        Some(d) if d > MAX_INLINE_WAIT => None,
                        Some(d) => Some(d.max(backoff)),
                        None => Some(backoff),
                    }
                } else {
                    None
                };
                match retry {
                    Some(wait) if !last => (wait, format!("the CA answered {status}")),
                    _ if status == StatusCode::TOO_MANY_REQUESTS => {
                        return Ok(annotate_rate_limit(rsp).await);
                    }
                    _ => return Ok(rsp),
                }
            }
            Attempt::NotSent(e) if !last => (backoff, format!("could not connect: {e}")),
            Attempt::Lost(e) if !last && !new_order => (backoff, format!("{e}")),
            Attempt::NotSent(e) | Attempt::Lost(e) => return Err(e),
        };
        tracing::warn!(request = %what, attempt = n, wait_ms = wait.as_millis() as u64, reason = %why, "retrying an ACME request");
        tokio::time::sleep(wait).await;
        backoff *= 2;
    }
    unreachable!("the last attempt always returns")
}

/// Whether a JWS body is a new order: its payload lists identifiers.
pub fn is_new_order(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Jws {
        payload: String,
    }
    let Ok(jws) = serde_json::from_slice::<Jws>(body) else {
        return false;
    };
    super::account::decode_base64url(&jws.payload)
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
        .is_some_and(|v| v.get("identifiers").is_some())
}

/// How long `Retry-After` asks to wait (seconds, or an HTTP date).
pub fn retry_after(headers: &http::HeaderMap, now: Timestamp) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// A 429 passed up: write the time of `Retry-After` into the problem detail
/// in Let's Encrypt's words ("retry after ... UTC"), unless it says so
/// already, so the hold and the operator see when orders may resume.
async fn annotate_rate_limit(mut rsp: BytesResponse) -> BytesResponse {
    let Some(wait) = retry_after(&rsp.parts.headers, Timestamp::now()) else {
        return rsp;
    };
    let Ok(body) = rsp.body.into_bytes().await else {
        return rsp;
    };
    let until = Timestamp::now()
        .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
        .unwrap_or_else(|_| Timestamp::now());
    let body = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut doc)) => {
            let detail = doc.get("detail").and_then(|d| d.as_str()).unwrap_or("");
            if !detail.contains("retry after ") {
                let stamp = until.strftime("%Y-%m-%d %H:%M:%S");
                let text = if detail.is_empty() {
                    format!("rate limited, retry after {stamp} UTC")
                } else {
                    format!("{detail}, retry after {stamp} UTC")
                };
                doc.insert("detail".into(), text.into());
            }
            serde_json::to_vec(&doc).unwrap_or_else(|_| body.to_vec())
        }
        _ => body.to_vec(),
    };
    rsp.parts.headers.remove(http::header::CONTENT_LENGTH);
    let mut out = Response::new(BodyWrapper::from(body));
    *out.status_mut() = rsp.parts.status;
    *out.headers_mut() = rsp.parts.headers;
    BytesResponse::from(out)
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
