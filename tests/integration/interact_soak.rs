//! A short soak of 征纳互动 (the full one with its latency report is `benches/soak.rs`): 40
//! concurrent interactions exchange messages for 4 s; nothing may be lost, repeated or out of
//! order, and the stored transcripts must match what the clients saw.

use std::time::Duration;

#[path = "../../benches/support/soak.rs"]
#[allow(dead_code)]
mod soak;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_concurrent_interactions_lose_and_reorder_nothing() {
    // Forty taxpayers log in from 127.0.0.1 at once: more than one address may try a minute.
    let t = spawn_app(Opts {
        session: fapiao::config::SessionSettings {
            login_attempts_per_minute: 1000,
            ..Default::default()
        },
        ..Opts::default()
    });
    let (ids, agents) = soak::seed(&t.app, 40, 4);
    let report = soak::run(
        t.app.clone(),
        t.addr,
        &ids,
        &agents,
        4,
        Duration::from_millis(500),
    )
    .await;
    println!("{}", report.json());
    assert!(report.sent > 40 * 4, "{}", report.json());
    assert_eq!(report.lost, 0, "{}", report.json());
    assert_eq!(report.duplicated, 0, "{}", report.json());
    assert_eq!(report.out_of_order, 0, "{}", report.json());
    assert_eq!(report.transcript_mismatches, 0, "{}", report.json());
    assert_eq!(report.delivered, report.sent);
}
