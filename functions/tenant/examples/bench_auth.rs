//! Whether the time of an answer tells that an address is registered: login with a wrong
//! password for a registered address against any password for an unknown one, and a
//! password-reset request for each. The tenant function is served in this process on the real
//! services (its own database, Redis prefix and Kafka topics, as the tests have), requests come
//! over HTTP from a fresh client address each, the two addresses alternating (which goes first
//! swaps every round), after a few unmeasured rounds. Prints the median, p90 and slowest answer
//! per route and address, and the ratio of the medians; saves the figures as JSON. Asserts
//! nothing. Run it with `scripts/bench/auth` (which starts the services).
//!
//! - `BENCH_REQUESTS`: measured requests per route and address (default 50);
//! - `BENCH_RESET_ANSWER_MS`: `PARLEY_PASSWORD_RESET_ANSWER_MS` for the app (default: the app's,
//!   250); 1 shows what each path takes by itself, the headroom the default leaves;
//! - `BENCH_OUT`: where the JSON goes (default `$PARLEY_CACHE_DIR/bench/auth-<time>.json`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::{
    config::Env,
    testing::{
        Api, TestDatabase, TestRedis, accounts,
        bench::{ms, percentile, save},
        from_ip, kafka_config, kafka_env, random_ip, unique_email,
    },
};

/// Unmeasured rounds first: connections open, caches fill.
const WARM_UP: usize = 3;

#[tokio::main]
async fn main() {
    let requests: usize = setting("BENCH_REQUESTS").and_then(|v| v.parse().ok()).unwrap_or(50);
    let database = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    let kafka = kafka_config();
    let mut vars = database.env();
    vars.extend(redis.env());
    vars.extend(kafka_env(&kafka));
    vars.extend([
        ("PARLEY_JWT_KEYS", "bench-1:a-secret-for-the-bench-only-0123456789abcdef".to_owned()),
        ("PARLEY_TRUSTED_PROXIES", "127.0.0.1/32".to_owned()),
        // Every request comes from an address of its own, and the two emails take many.
        ("PARLEY_LOGIN_LIMIT_PER_IP", "100000".to_owned()),
        ("PARLEY_LOGIN_LIMIT_PER_EMAIL", "100000".to_owned()),
    ]);
    if let Some(ms) = setting("BENCH_RESET_ANSWER_MS") {
        vars.push(("PARLEY_PASSWORD_RESET_ANSWER_MS", ms));
    }
    let config = tenant::Config::from_env(&Env::from_pairs(vars)).expect("a valid configuration");
    let answer_ms = config.policy.reset_answer.as_millis();
    let state = tenant::AppState::connect(&config).await.expect("the services answer");
    let api = Api::new(shared::testing::serve(tenant::router(state)).await);
    let account = accounts::sign_up(&api).await;
    let nobody = unique_email("nobody");
    println!(
        "auth: the tenant function in this process, {requests} requests per route and address, alternating; \
         reset requests answer {answer_ms} ms after they arrive"
    );
    println!("  {:<20}  {:<8}  {:>8}  {:>8}  {:>8}", "route", "address", "p50 ms", "p90 ms", "max ms");

    let wrong = "not-the-password-at-all";
    let login = compare(
        &api,
        "/auth/login",
        401,
        requests,
        json!({ "email": account.email, "password": wrong }),
        json!({ "email": nobody, "password": wrong }),
    )
    .await;
    let reset = compare(
        &api,
        "/auth/password-reset",
        202,
        requests,
        json!({ "email": account.email }),
        json!({ "email": nobody }),
    )
    .await;
    println!("  known / unknown: the ratio of the medians; 1.0 tells nothing");
    save("auth", json!({ "requestsPerSide": requests, "resetAnswerMs": answer_ms, "routes": [login, reset] }));
}

fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Times `requests` answers of `path` for each body, alternating, and prints both sides.
async fn compare(api: &Api, path: &str, status: u16, requests: usize, known: Value, unknown: Value) -> Value {
    for _ in 0..WARM_UP {
        timed(api, path, &known, status).await;
        timed(api, path, &unknown, status).await;
    }
    let (mut for_known, mut for_unknown) = (Vec::with_capacity(requests), Vec::with_capacity(requests));
    for round in 0..requests {
        if round % 2 == 0 {
            for_known.push(timed(api, path, &known, status).await);
            for_unknown.push(timed(api, path, &unknown, status).await);
        } else {
            for_unknown.push(timed(api, path, &unknown, status).await);
            for_known.push(timed(api, path, &known, status).await);
        }
    }
    let known = Side::of("known", for_known);
    let unknown = Side::of("unknown", for_unknown);
    for side in [&known, &unknown] {
        println!("  {path:<20}  {:<8}  {:>8.1}  {:>8.1}  {:>8.1}", side.name, ms(side.p50), ms(side.p90), ms(side.max));
    }
    let ratio = known.p50.as_secs_f64() / unknown.p50.as_secs_f64().max(1e-9);
    println!("  {path:<20}  known / unknown: {ratio:.2}");
    json!({ "route": path, "known": known.json(), "unknown": unknown.json(), "medianRatio": (ratio * 100.0).round() / 100.0 })
}

async fn timed(api: &Api, path: &str, body: &Value, status: u16) -> Duration {
    let started = Instant::now();
    let response = api.post(path, from_ip(&random_ip()), body.clone()).await;
    let took = started.elapsed();
    assert_eq!(response.status().as_u16(), status, "{path}: {}", response.text().await.unwrap_or_default());
    took
}

struct Side {
    name: &'static str,
    p50: Duration,
    p90: Duration,
    max: Duration,
}

impl Side {
    fn of(name: &'static str, mut durations: Vec<Duration>) -> Self {
        durations.sort();
        Self {
            name,
            p50: percentile(&durations, 0.5),
            p90: percentile(&durations, 0.9),
            max: percentile(&durations, 1.0),
        }
    }

    fn json(&self) -> Value {
        json!({ "p50Ms": ms(self.p50), "p90Ms": ms(self.p90), "maxMs": ms(self.max) })
    }
}
