//! No answer tells by its time whether an account exists: login (a wrong password for a known
//! address, or any password for an unknown one) and a password-reset request take as long for a
//! registered address as for an unknown one.
//!
//! The suite's only timing assertions, generous so that a loaded machine passes them: the requests
//! for the two addresses alternate (load falls on both alike), each from an address of its own,
//! and the larger median must stay below one and a half times the smaller plus [`SLACK`]. Before
//! a reset request answered at a fixed time after it arrived, a known address took 3 to 5 times
//! as long as an unknown one (medians of 9 to 26 ms against 2 to 6 here, on a busy machine: a
//! user write and a Kafka publish against nothing), and the reset check failed every time.
//! `scripts/bench/auth` prints the figures.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{TestApp, from_ip, random_ip, sign_up, spawn_app_with, unique_email};

/// Requests for each address; medians of 25 and more shrug off a few slow ones.
const ROUNDS: usize = 30;
/// Added to one and a half times the smaller median: what scheduling noise on a busy two-core
/// machine may add.
const SLACK: Duration = Duration::from_millis(3);

/// An app whose per-address limits let the rounds through (each request also comes from an
/// address of its own).
async fn app() -> TestApp {
    spawn_app_with(&[("PARLEY_LOGIN_LIMIT_PER_EMAIL", "1000"), ("PARLEY_LOGIN_LIMIT_PER_IP", "1000")]).await
}

/// How long `POST path` took, checking that it answered `status`.
async fn timed(app: &TestApp, path: &str, body: &Value, status: u16) -> Duration {
    let started = Instant::now();
    let response = app.post(path, from_ip(&random_ip()), body.clone()).await;
    let took = started.elapsed();
    assert_eq!(response.status().as_u16(), status, "{path}: {}", response.text().await.unwrap_or_default());
    took
}

/// The median of each side's durations over [`ROUNDS`] rounds, the two alternating (which goes
/// first swaps each round), after two unmeasured rounds that open the connections.
async fn medians(app: &TestApp, path: &str, known: &Value, unknown: &Value, status: u16) -> (Duration, Duration) {
    for _ in 0..2 {
        timed(app, path, known, status).await;
        timed(app, path, unknown, status).await;
    }
    let (mut for_known, mut for_unknown) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            for_known.push(timed(app, path, known, status).await);
            for_unknown.push(timed(app, path, unknown, status).await);
        } else {
            for_unknown.push(timed(app, path, unknown, status).await);
            for_known.push(timed(app, path, known, status).await);
        }
    }
    (median(for_known), median(for_unknown))
}

fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort();
    durations[durations.len() / 2]
}

fn assert_alike(what: &str, known: Duration, unknown: Duration) {
    let (fast, slow) = if known < unknown { (known, unknown) } else { (unknown, known) };
    assert!(
        slow < fast * 3 / 2 + SLACK,
        "{what} tells by its time whether an address is registered: median {known:?} for a known address, \
         {unknown:?} for an unknown one ({ROUNDS} requests each)"
    );
}

#[tokio::test]
async fn a_wrong_password_takes_as_long_for_a_known_address_as_for_an_unknown_one() {
    let app = app().await;
    let admin = sign_up(&app).await;
    let known = json!({ "email": admin.email, "password": "not-the-password-at-all" });
    let unknown = json!({ "email": unique_email("nobody"), "password": "not-the-password-at-all" });
    let (for_known, for_unknown) = medians(&app, "/auth/login", &known, &unknown, 401).await;
    println!("login medians: known {for_known:?}, unknown {for_unknown:?}");
    assert_alike("login", for_known, for_unknown);
}

#[tokio::test]
async fn a_reset_request_takes_as_long_for_a_known_address_as_for_an_unknown_one() {
    let app = app().await;
    let admin = sign_up(&app).await;
    let known = json!({ "email": admin.email });
    let unknown = json!({ "email": unique_email("nobody") });
    let (for_known, for_unknown) = medians(&app, "/auth/password-reset", &known, &unknown, 202).await;
    println!("password-reset medians: known {for_known:?}, unknown {for_unknown:?}");
    assert_alike("a password-reset request", for_known, for_unknown);

    // Every request for the known address still mailed its link.
    let requested = || app.events.of_type("password_reset.requested").len();
    shared::testing::eventually(crate::support::EVENT_TIMEOUT, "a reset event for every request", || {
        let done = (requested() >= ROUNDS + 2).then_some(());
        async move { done }
    })
    .await;
}
