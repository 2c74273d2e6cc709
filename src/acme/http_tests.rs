//! The retry rules of [`super::send`], against a scripted transport.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A new-order JWS for `a.example` (only the payload matters here).
const NEW_ORDER: &str = r#"{"protected":"e30","payload":"eyJpZGVudGlmaWVycyI6W3sidHlwZSI6ImRucyIsInZhbHVlIjoiYS5leGFtcGxlIn1dfQ","signature":"c2ln"}"#;
/// A POST-as-GET (empty payload).
const POST_AS_GET: &str = r#"{"protected":"e30","payload":"","signature":"c2ln"}"#;

#[derive(Clone, Copy)]
enum Step {
    Status(u16, Option<&'static str>),
    NotSent,
    Lost,
}

fn post(body: &str) -> Request<BodyWrapper<Bytes>> {
    Request::builder()
        .method(http::Method::POST)
        .uri("https://ca.example/order-plz")
        .body(BodyWrapper::from(body.as_bytes().to_vec()))
        .expect("request")
}

/// Run `req` against `script` (the last step repeats); returns the result
/// and how many attempts were made.
async fn run(
    req: Request<BodyWrapper<Bytes>>,
    script: &[Step],
) -> (Result<BytesResponse, instant_acme::Error>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let script = script.to_vec();
    let c = Arc::clone(&calls);
    let result = send(req, move |req| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        let step = script[n.min(script.len() - 1)];
        async move {
            let body = BytesResponse::from(Response::new(req.into_body()))
                .body
                .into_bytes()
                .await
                .expect("body");
            assert!(!body.is_empty(), "every attempt resends the body");
            match step {
                Step::Status(code, retry_after) => {
                    let mut b = Response::builder().status(code);
                    if let Some(r) = retry_after {
                        b = b.header("Retry-After", r);
                    }
                    let doc =
                        r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"slow down"}"#;
                    Attempt::Answer(BytesResponse::from(
                        b.body(BodyWrapper::from(doc.as_bytes().to_vec()))
                            .expect("response"),
                    ))
                }
                Step::NotSent => Attempt::NotSent(instant_acme::Error::Str("refused")),
                Step::Lost => Attempt::Lost(instant_acme::Error::Str("reset")),
            }
        }
    })
    .await;
    (result, calls.load(Ordering::SeqCst))
}

fn status(r: &Result<BytesResponse, instant_acme::Error>) -> u16 {
    r.as_ref().expect("an answer").parts.status.as_u16()
}

#[test]
fn recognises_new_orders() {
    assert!(is_new_order(NEW_ORDER.as_bytes()));
    assert!(!is_new_order(POST_AS_GET.as_bytes()));
    assert!(!is_new_order(b"not json"));
}

#[tokio::test]
async fn server_errors_and_lost_answers_are_retried_for_reads() {
    let (r, n) = run(
        post(POST_AS_GET),
        &[Step::Status(503, None), Step::Lost, Step::Status(200, None)],
    )
    .await;
    assert_eq!((status(&r), n), (200, 3));
    // Bounded: the last answer goes up after ATTEMPTS tries.
    let (r, n) = run(post(POST_AS_GET), &[Step::Status(500, None)]).await;
    assert_eq!((status(&r), n), (500, ATTEMPTS as usize));
}

#[tokio::test]
async fn a_new_order_is_resent_only_when_it_never_reached_the_ca() {
    let (r, n) = run(post(NEW_ORDER), &[Step::Status(503, None)]).await;
    assert_eq!((status(&r), n), (503, 1));
    let (r, n) = run(post(NEW_ORDER), &[Step::Lost]).await;
    assert!(r.is_err());
    assert_eq!(n, 1);
    let (r, n) = run(post(NEW_ORDER), &[Step::NotSent, Step::Status(201, None)]).await;
    assert_eq!((status(&r), n), (201, 2));
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_and_a_long_one_goes_up_with_its_time() {
    let (r, n) = run(
        post(NEW_ORDER),
        &[Step::Status(429, Some("1")), Step::Status(201, None)],
    )
    .await;
    assert_eq!((status(&r), n), (201, 2));
    let (r, n) = run(post(NEW_ORDER), &[Step::Status(429, Some("3600"))]).await;
    assert_eq!((status(&r), n), (429, 1));
    let body = r.expect("answer").body.into_bytes().await.expect("body");
    let doc: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let detail = doc["detail"].as_str().expect("detail");
    let until = crate::acme::ratelimit::retry_after(detail).expect("a time in the detail");
    let wait = until.duration_since(Timestamp::now()).as_secs();
    assert!((3590..=3600).contains(&wait), "{detail}");
}

#[test]
fn retry_after_takes_seconds_or_a_date() {
    let now: Timestamp = "2026-12-04T10:00:00Z".parse().expect("ts");
    let mut h = http::HeaderMap::new();
    h.insert("Retry-After", "7".parse().expect("value"));
    assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
    h.insert(
        "Retry-After",
        "Fri, 04 Dec 2026 10:01:00 GMT".parse().expect("value"),
    );
    assert_eq!(retry_after(&h, now), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn at_most_in_flight_attempts_run_at_once() {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let requests = (0..IN_FLIGHT * 3).map(|_| {
        let (in_flight, now, peak) = (Arc::clone(&in_flight), Arc::clone(&now), Arc::clone(&peak));
        send(post(POST_AS_GET), move |_req| {
            let (in_flight, now, peak) =
                (Arc::clone(&in_flight), Arc::clone(&now), Arc::clone(&peak));
            async move {
                within(&in_flight, async move {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Attempt::Answer(BytesResponse::from(
                        Response::builder()
                            .status(200)
                            .body(BodyWrapper::from(b"{}".to_vec()))
                            .expect("response"),
                    ))
                })
                .await
            }
        })
    });
    let results = futures::future::join_all(requests).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(peak.load(Ordering::SeqCst), IN_FLIGHT);
}
