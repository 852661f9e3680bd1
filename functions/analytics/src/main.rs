use analytics::{AppState, Config, config::Role};
use shared::{config::Env, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(Config::from_env(&Env::from_process()));
    let state = exit_on_error(AppState::connect(&config).await);
    if shared::http::is_lambda() {
        tracing::info!(role = ?config.role, "running on AWS Lambda");
        match config.role {
            Role::Api => exit_on_error(shared::http::serve(analytics::router(state), config.http.addr).await),
            Role::Reports => exit_on_error(analytics::reports::job::run_on_lambda(state, config.reports.days).await),
            Role::Ingest => {
                let Some(tinybird) = &config.tinybird else {
                    exit_on_error(Err::<(), _>("PARLEY_TINYBIRD_TOKEN: the ingest role needs a Tinybird token"));
                    return;
                };
                let _ = tinybird;
            }
        }
        return;
    }
    // Self-hosted: the API, the report timer and, with a Tinybird token, the consumer group;
    // SIGTERM stops them all.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(interval) = config.reports.interval {
        let job = analytics::reports::job::run_every(state.clone(), interval, config.reports.days, stopping.clone());
        tasks.push(tokio::spawn(job));
    }
    if let Some(tinybird) = config.tinybird.clone() {
        let _ = tinybird;
    }
    let served = shared::http::serve(analytics::router(state), config.http.addr).await;
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    exit_on_error(served);
}
