//! The Slack notifier through the dispatcher, against a real HTTP receiver.

mod notify_support;

use std::collections::BTreeMap;
use std::time::Duration;

use notify_support::{slack_config, transition, Receiver};
use tokio::sync::mpsc;
use tripgate_alerter::notify::{slack, DeliveryCounts, Dispatcher};

#[tokio::test]
async fn slack_gets_one_coloured_message_per_notification() {
    let receiver = Receiver::start(vec![]).await;
    let configs = BTreeMap::from([("ops-slack".to_string(), slack_config(&receiver.url))]);
    let dispatcher = Dispatcher::from_config(&configs).unwrap();
    let stats = dispatcher.stats();
    let (sender, input) = mpsc::channel(8);
    let dispatching = dispatcher.spawn(input);

    // One at a time: a burst would be coalesced into a digest (see
    // notify_delivery.rs); here each message must look right on its own.
    for (version, from, to) in [
        (1, "green", "yellow"),
        (2, "yellow", "red"),
        (3, "red", "green"),
    ] {
        sender
            .send(transition(version, from, to, &["ops-slack"]))
            .await
            .unwrap();
        receiver
            .wait_for(version as usize, Duration::from_secs(5))
            .await;
    }
    drop(sender);
    dispatching.await.unwrap();

    let requests = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(requests.len(), 3);
    let expected = [
        ("green → yellow", slack::YELLOW, "engaged at level 1"),
        ("yellow → red", slack::RED, "engaged at level 1"),
        ("red → green", slack::GREEN, "released"),
    ];
    for (request, (change, colour, action)) in requests.iter().zip(expected) {
        assert_eq!(request.header("content-type"), "application/json");
        assert!(
            request.header("webhook-signature").is_empty(),
            "slack requests are not signed"
        );
        let message = request.json();
        assert_eq!(
            message["text"],
            format!("Rule on-time-delivery (on_time_rate, warehouse wh-1): {change}")
        );
        assert_eq!(message["attachments"][0]["color"], colour);
        let text = message.to_string();
        for expected in [
            "0.7612 vs threshold 0.8",
            "*Window*\\n1h",
            "*Samples*\\n42",
            action,
        ] {
            assert!(text.contains(expected), "missing {expected:?} in {text}");
        }
    }
    assert_eq!(
        stats.counts("ops-slack"),
        Some(DeliveryCounts {
            delivered: 3,
            failed: 0,
            dropped: 0,
            retries: 0,
        })
    );
}
