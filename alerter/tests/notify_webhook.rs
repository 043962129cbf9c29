//! The webhook notifier against a real HTTP receiver: signing, retries,
//! timeouts, redirects.

mod notify_support;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use notify_support::{fast_retries, transition, webhook_config, Receiver, Reply, SECRET};
use sha2::Sha256;
use tripgate_alerter::notify::{Notifier, NotifyError};

const WAIT: Duration = Duration::from_secs(5);

fn notifier(receiver: &Receiver, retries: u32) -> Notifier {
    Notifier::from_config("hook", &webhook_config(&receiver.url, "2s"))
        .unwrap()
        .with_retry_policy(fast_retries(retries))
}

/// Recomputes the signature from the spec, independently of the notifier.
fn expected_signature(id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn sends_the_notification_json_signed_per_standard_webhooks() {
    let receiver = Receiver::start(vec![]).await;
    let notification = transition(3, "yellow", "red", &["hook"]);
    notifier(&receiver, 0).send(&notification).await.unwrap();

    let requests = receiver.wait_for(1, WAIT).await;
    let request = &requests[0];
    assert_eq!(request.path, "/hook/SECRETPATH");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("webhook-id"), notification.id);
    let timestamp = request.header("webhook-timestamp");
    let sent_at: i64 = timestamp.parse().expect("unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - sent_at).abs() <= 5,
        "timestamp {sent_at} is not now ({now})"
    );
    assert_eq!(
        request.header("webhook-signature"),
        expected_signature(&notification.id, timestamp, &request.body)
    );

    let body = request.json();
    assert_eq!(body, serde_json::to_value(&notification).unwrap());
    assert_eq!(body["type"], "breaker.transition");
    assert_eq!(body["actions"][0]["state"], "engaged");
    assert!(
        body.get("notify").is_none(),
        "routing is not part of the body"
    );
}

#[tokio::test]
async fn retries_a_500_with_the_same_id_and_body_and_delivers_once() {
    let receiver = Receiver::start(vec![Reply::status(500), Reply::status(502)]).await;
    let notification = transition(1, "green", "yellow", &["hook"]);
    notifier(&receiver, 3).send(&notification).await.unwrap();

    let requests = receiver.wait_for(3, WAIT).await;
    assert_eq!(requests.len(), 3, "two failures, then one delivery");
    for request in &requests {
        assert_eq!(request.header("webhook-id"), notification.id);
        assert_eq!(request.body, requests[0].body);
        let timestamp = request.header("webhook-timestamp");
        assert_eq!(
            request.header("webhook-signature"),
            expected_signature(&notification.id, timestamp, &request.body)
        );
    }
}

#[tokio::test]
async fn does_not_retry_a_400() {
    let receiver = Receiver::start(vec![Reply::status(400)]).await;
    let error = notifier(&receiver, 3)
        .send(&transition(1, "green", "red", &["hook"]))
        .await
        .unwrap_err();

    assert!(
        matches!(error, NotifyError::Status { status: 400, .. }),
        "{error}"
    );
    assert!(!error.is_retryable());
    assert_eq!(
        error.to_string(),
        "receiver answered 400: answer 400",
        "the receiver's reason is kept"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn retries_after_a_timeout() {
    let receiver = Receiver::start(vec![Reply::delayed(200, Duration::from_secs(2))]).await;
    let notifier = Notifier::from_config("hook", &webhook_config(&receiver.url, "200ms"))
        .unwrap()
        .with_retry_policy(fast_retries(2));
    let notification = transition(1, "green", "red", &["hook"]);
    let started = Instant::now();
    notifier.send(&notification).await.unwrap();

    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the slow answer was not awaited"
    );
    let requests = receiver.wait_for(2, WAIT).await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("webhook-id"), notification.id);
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let receiver = Receiver::start(vec![Reply::status(429).header("retry-after", "1")]).await;
    let started = Instant::now();
    notifier(&receiver, 2)
        .send(&transition(1, "green", "red", &["hook"]))
        .await
        .unwrap();

    let requests = receiver.wait_for(2, WAIT).await;
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_secs(1),
        "retried after {waited:?}, asked for 1s"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn gives_up_after_the_configured_retries() {
    let receiver = Receiver::start(vec![Reply::status(503); 10]).await;
    let error = notifier(&receiver, 2)
        .send(&transition(1, "green", "red", &["hook"]))
        .await
        .unwrap_err();

    assert!(
        matches!(error, NotifyError::Exhausted { attempts: 3, .. }),
        "{error}"
    );
    assert!(error.is_retryable(), "a later replay may still succeed");
    assert_eq!(receiver.requests().len(), 3);
}

#[tokio::test]
async fn does_not_follow_redirects() {
    let elsewhere = Receiver::start(vec![]).await;
    let receiver = Receiver::start(vec![
        Reply::status(307).header("location", elsewhere.url.clone())
    ])
    .await;
    let error = notifier(&receiver, 3)
        .send(&transition(1, "green", "red", &["hook"]))
        .await
        .unwrap_err();

    assert!(
        matches!(error, NotifyError::Status { status: 307, .. }),
        "{error}"
    );
    assert!(!error.is_retryable());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(receiver.requests().len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the signed body went to the redirect target"
    );
}

#[tokio::test]
async fn connection_errors_are_retried_and_never_show_the_url() {
    let unused = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook/SECRETPATH", unused.local_addr().unwrap());
    drop(unused);
    let notifier = Notifier::from_config("hook", &webhook_config(&url, "2s"))
        .unwrap()
        .with_retry_policy(fast_retries(1));
    let error = notifier
        .send(&transition(1, "green", "red", &["hook"]))
        .await
        .unwrap_err();

    let NotifyError::Exhausted { attempts: 2, last } = &error else {
        panic!("{error}")
    };
    assert!(matches!(**last, NotifyError::Transport(_)), "{last}");
    assert!(
        !format!("{error} {error:?}").contains("SECRETPATH"),
        "{error:?}"
    );
}

#[tokio::test]
async fn refuses_ids_that_cannot_be_a_header() {
    let receiver = Receiver::start(vec![]).await;
    let mut notification = transition(1, "green", "red", &["hook"]);
    notification.id = "on-time-delivery.warehouse.lager-münchen.1".to_string();
    let error = notifier(&receiver, 3)
        .send(&notification)
        .await
        .unwrap_err();

    assert!(matches!(error, NotifyError::InvalidId(_)), "{error}");
    assert!(receiver.requests().is_empty());
}
