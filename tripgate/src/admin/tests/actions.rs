//! Leases, stepwise release, snap-back, silences and overrides through the
//! admin API, in tick time.

use serde_json::json;

use super::*;

#[tokio::test]
async fn transitions_carry_lineage_and_leases_are_renewed_then_released_stepwise() {
    let h = harness().await;
    tick(&h, &red(Band::Red, 1, T0), T0);
    let (_, transitions) = api(&h, "GET", "/api/v1/transitions", None).await;
    let lineage = &transitions[0]["lineage"];
    assert_eq!(lineage["value"], 0.7);
    assert_eq!(lineage["threshold"], 0.8);
    assert_eq!(lineage["samples"], 12);
    assert_eq!(lineage["window"], "5m");
    assert_eq!(lineage["watermark"], "2025-01-01T10:01:00Z");
    assert_eq!(lineage["rule_version"].as_str().unwrap().len(), 12);
    let (_, actions) = api(&h, "GET", "/api/v1/actions", None).await;
    assert_eq!(
        actions[0]["expires_at"], "2025-01-01T10:15:00Z",
        "lease of 3 x 5m"
    );
    // Lease renewal: at 5m the lease is extended with the same version.
    h.admin.poll(T0 + 5 * MINUTE);
    let (_, actions) = api(&h, "GET", "/api/v1/actions", None).await;
    assert_eq!(actions[0]["expires_at"], "2025-01-01T10:20:00Z");
    assert_eq!(actions[0]["version"], 1);
    // Stepwise release: 1.0 -> 0.5 -> (snap back) 1.0 -> 0.5 -> 0.25 -> released.
    tick(&h, &red(Band::Green, 2, T0 + 6 * MINUTE), T0 + 6 * MINUTE);
    assert_eq!(
        throttle_level(&api(&h, "GET", "/api/v1/actions", None).await.1),
        Some(0.5)
    );
    tick(&h, &red(Band::Red, 3, T0 + 7 * MINUTE), T0 + 7 * MINUTE);
    assert_eq!(
        throttle_level(&api(&h, "GET", "/api/v1/actions", None).await.1),
        Some(1.0),
        "snapped back"
    );
    tick(&h, &red(Band::Green, 4, T0 + 8 * MINUTE), T0 + 8 * MINUTE);
    h.admin.poll(T0 + 10 * MINUTE);
    assert_eq!(
        throttle_level(&api(&h, "GET", "/api/v1/actions", None).await.1),
        Some(0.25)
    );
    h.admin.poll(T0 + 12 * MINUTE);
    assert_eq!(
        throttle_level(&api(&h, "GET", "/api/v1/actions", None).await.1),
        None,
        "released"
    );
    assert!(
        h.admin.outbox.pending().is_empty(),
        "no notifier configured, so nothing queued"
    );
}

#[tokio::test]
async fn silences_and_overrides_are_audited_and_expire() {
    let h = harness().await;
    h.admin.poll(T0); // the clock the silence's duration counts from
    let (status, silence) = api(
        &h,
        "POST",
        "/api/v1/silences",
        Some(json!({"rule": "ontime", "duration": "10m"})),
    )
    .await;
    assert_eq!(status, 201, "{silence}");
    tick(&h, &red(Band::Red, 1, T0), T0);
    let (_, transitions) = api(&h, "GET", "/api/v1/transitions", None).await;
    assert_eq!(transitions[0]["silenced"], true);
    assert_eq!(
        api(
            &h,
            "POST",
            "/api/v1/silences",
            Some(json!({"rule": "nope", "duration": "1m"}))
        )
        .await
        .0,
        400
    );
    let path = format!("/api/v1/silences/{}", silence["id"]);
    assert_eq!(api(&h, "DELETE", &path, None).await.0, 200);
    assert_eq!(api(&h, "GET", "/api/v1/silences", None).await.1, json!([]));

    let target = json!({"rule": "ontime", "key": "all", "action": "throttle", "duration": "5m", "reason": "drill"});
    let (status, released) = api(
        &h,
        "POST",
        "/api/v1/actions/force-release",
        Some(target.clone()),
    )
    .await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["messages"][0]["reason"], "forced_release");
    let (_, actions) = api(&h, "GET", "/api/v1/actions", None).await;
    assert_eq!(actions[0]["level"], 0.0);
    assert!(actions[0]["override"]["by"]
        .as_str()
        .unwrap()
        .starts_with("alice@127.0.0.1:"));
    h.admin.poll(T0 + 5 * MINUTE);
    assert_eq!(
        throttle_level(&api(&h, "GET", "/api/v1/actions", None).await.1),
        Some(1.0),
        "override over, breaker is red"
    );
    let engage = json!({"rule": "ontime", "key": "all", "action": "throttle", "level": 0.3});
    assert_eq!(
        api(
            &h,
            "POST",
            "/api/v1/actions/force-engage",
            Some(engage.clone())
        )
        .await
        .0,
        200
    );
    assert_eq!(
        throttle_level(&api(&h, "GET", "/api/v1/actions", None).await.1),
        Some(0.3)
    );
    assert_eq!(
        api(&h, "POST", "/api/v1/actions/clear-override", Some(engage))
            .await
            .0,
        200
    );
    let bad = json!({"rule": "ontime", "action": "throttle", "level": 3.0});
    assert_eq!(
        api(&h, "POST", "/api/v1/actions/force-engage", Some(bad))
            .await
            .0,
        400
    );
    let (_, audit) = api(&h, "GET", "/api/v1/audit", None).await;
    let what: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert_eq!(what.len(), 5, "{what:?}");
    assert!(
        what[0].starts_with("silenced rule ontime key * for 10m"),
        "{what:?}"
    );
    assert!(
        what[2].starts_with("force-release rule ontime key all action throttle for 5m"),
        "{what:?}"
    );
    assert!(audit[0]["who"]
        .as_str()
        .unwrap()
        .starts_with("alice@127.0.0.1:"));
}
