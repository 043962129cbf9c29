//! The dispatcher: routing by name, isolation of a slow receiver, no drop on
//! a full outbox, unknown names, and shutdown by dropping the sender.

mod notify_support;

use std::time::Duration;

use notify_support::{fast_retries, slack_config, transition, webhook_config, Receiver, Reply};
use tokio::sync::mpsc;
use tripgate_alerter::notify::{DeliveryCounts, Dispatcher, Notifier, NotifyError};

const WAIT: Duration = Duration::from_secs(5);

fn webhook(name: &str, receiver: &Receiver, retries: u32) -> Notifier {
    Notifier::from_config(name, &webhook_config(&receiver.url, "3s"))
        .unwrap()
        .with_retry_policy(fast_retries(retries))
}

#[tokio::test]
async fn routes_each_notification_to_the_notifiers_it_names() {
    let (first, second) = (Receiver::start(vec![]).await, Receiver::start(vec![]).await);
    let dispatcher = Dispatcher::new(vec![
        webhook("first", &first, 0),
        webhook("second", &second, 0),
    ])
    .unwrap();
    let stats = dispatcher.stats();
    let (sender, input) = mpsc::channel(8);
    let dispatching = dispatcher.spawn(input);

    sender
        .send(transition(1, "green", "red", &["first"]))
        .await
        .unwrap();
    sender
        .send(transition(2, "red", "green", &["first", "second", "first"]))
        .await
        .unwrap();
    sender
        .send(transition(3, "green", "yellow", &[]))
        .await
        .unwrap();
    drop(sender);
    dispatching.await.unwrap();

    let ids = |receiver: &Receiver| -> Vec<String> {
        receiver
            .requests()
            .iter()
            .map(|request| request.header("webhook-id").to_string())
            .collect()
    };
    assert_eq!(
        ids(&first),
        [
            "on-time-delivery.warehouse.wh-1.1",
            "on-time-delivery.warehouse.wh-1.2"
        ]
    );
    assert_eq!(ids(&second), ["on-time-delivery.warehouse.wh-1.2"]);
    assert_eq!(stats.counts("first").unwrap().delivered, 2);
    assert_eq!(stats.counts("second").unwrap().delivered, 1);
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_another() {
    let slow = Receiver::start(vec![Reply::delayed(200, Duration::from_secs(1))]).await;
    let fast = Receiver::start(vec![]).await;
    let dispatcher =
        Dispatcher::new(vec![webhook("slow", &slow, 0), webhook("fast", &fast, 0)]).unwrap();
    let stats = dispatcher.stats();
    let (sender, input) = mpsc::channel(8);
    let dispatching = dispatcher.spawn(input);

    sender
        .send(transition(1, "green", "red", &["slow", "fast"]))
        .await
        .unwrap();
    sender
        .send(transition(2, "red", "green", &["slow", "fast"]))
        .await
        .unwrap();
    let fast_requests = fast.wait_for(2, Duration::from_millis(600)).await;
    assert_eq!(fast_requests.len(), 2);
    assert_eq!(
        stats.counts("slow").unwrap().delivered,
        0,
        "the slow receiver is still answering"
    );

    drop(sender);
    dispatching.await.unwrap();
    assert_eq!(slow.requests().len(), 2, "shutdown drained the slow queue");
    assert_eq!(stats.counts("slow").unwrap().delivered, 2);
}

#[tokio::test]
async fn a_stuck_receiver_keeps_its_messages_and_delays_no_other() {
    let slow = Reply::delayed(200, Duration::from_millis(300));
    let stuck = Receiver::start(vec![slow.clone(), slow.clone(), slow.clone(), slow]).await;
    let healthy = Receiver::start(vec![]).await;
    let dispatcher = Dispatcher::new(vec![
        webhook("stuck", &stuck, 0),
        webhook("healthy", &healthy, 0),
    ])
    .unwrap();
    let stats = dispatcher.stats();
    let (sender, input) = mpsc::channel(8);
    let dispatching = dispatcher.spawn(input);

    for version in 1..=4 {
        sender
            .send(transition(version, "green", "red", &["stuck", "healthy"]))
            .await
            .unwrap();
    }
    let fast = healthy.wait_for(4, WAIT).await;
    assert!(
        stuck.requests().len() < 4,
        "the healthy receiver got all four while the stuck one was still busy"
    );
    assert_eq!(fast.len(), 4);
    drop(sender);
    dispatching.await.unwrap();

    let expected = DeliveryCounts {
        delivered: 4,
        failed: 0,
        dropped: 0,
        retries: 0,
    };
    assert_eq!(stats.counts("stuck").unwrap(), expected, "nothing dropped");
    assert_eq!(stats.counts("healthy").unwrap(), expected);
}

#[tokio::test]
async fn failures_and_unknown_notifiers_are_counted() {
    let refusing = Receiver::start(vec![Reply::status(403)]).await;
    let dispatcher = Dispatcher::new(vec![webhook("refusing", &refusing, 3)]).unwrap();
    let stats = dispatcher.stats();
    let (sender, input) = mpsc::channel(8);
    let dispatching = dispatcher.spawn(input);

    sender
        .send(transition(1, "green", "red", &["refusing", "nowhere"]))
        .await
        .unwrap();
    drop(sender);
    dispatching.await.unwrap();

    assert_eq!(
        stats.counts("refusing").unwrap(),
        DeliveryCounts {
            delivered: 0,
            failed: 1,
            dropped: 0,
            retries: 0,
        }
    );
    assert_eq!(stats.unknown_notifier(), 1);
    assert_eq!(
        stats.counts("nowhere"),
        None,
        "unknown names get no label of their own"
    );
    assert_eq!(stats.snapshot().len(), 1);
}

#[tokio::test]
async fn notifier_names_must_be_unique() {
    let receiver = Receiver::start(vec![]).await;
    let twice = Dispatcher::new(vec![
        webhook("hook", &receiver, 0),
        webhook("hook", &receiver, 0),
    ]);
    assert!(matches!(twice, Err(NotifyError::DuplicateNotifier(name)) if name == "hook"));
}

#[tokio::test]
async fn from_config_rejects_a_bad_secret() {
    let mut config = webhook_config("http://127.0.0.1:9/hook", "1s");
    if let tripgate_model::config::NotifierConfig::Webhook { secret, .. } = &mut config {
        secret.0 = "not-a-whsec-secret".to_string();
    }
    let configs = std::collections::BTreeMap::from([
        (
            "ops-slack".to_string(),
            slack_config("http://127.0.0.1:9/slack"),
        ),
        ("acquisition-webhook".to_string(), config),
    ]);
    let error = Dispatcher::from_config(&configs).unwrap_err();
    assert!(
        matches!(&error, NotifyError::InvalidSecret { notifier, .. } if notifier == "acquisition-webhook")
    );
}
