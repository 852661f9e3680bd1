use analytics::{AppState, Config, config::Role, tinybird::Ingest};
use shared::{config::Env, discovery::Announcer, services::Service, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(Config::from_env(&Env::from_process()));
    if shared::http::is_lambda() {
        tracing::info!(role = ?config.role, "running on AWS Lambda");
        if config.role == Role::Ingest {
            // The stream reads Kafka's batches and writes to Tinybird: no database, no Redis.
            let tinybird = config.tinybird.as_ref().ok_or("PARLEY_TINYBIRD_TOKEN: the ingest role needs a token");
            let ingest = exit_on_error(Ingest::new(exit_on_error(tinybird)));
            exit_on_error(analytics::tinybird::lambda::run(ingest).await);
            return;
        }
        let state = exit_on_error(AppState::connect(&config).await);
        match config.role {
            Role::Reports => exit_on_error(analytics::reports::job::run_on_lambda(state, config.reports.days).await),
            _ => {
                let announcer = Announcer::new("analytics", None, &config.http);
                exit_on_error(shared::http::serve(analytics::router(state), config.http.addr, announcer).await);
            }
        }
        return;
    }
    // Self-hosted, the role picks the work: `api` serves the API and runs the report timer and,
    // with a Tinybird token, the consumer group; `reports` only the timer; `ingest` only the
    // consumer group. The two jobs serve `/healthz` beside. SIGTERM stops them all.
    let state = exit_on_error(AppState::connect(&config).await);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    if let (Role::Api | Role::Reports, Some(interval)) = (config.role, config.reports.interval) {
        let job = analytics::reports::job::run_every(state.clone(), interval, config.reports.days, stopping.clone());
        tasks.push(tokio::spawn(job));
    }
    if let (Role::Api | Role::Ingest, Some(tinybird)) = (config.role, config.tinybird.clone()) {
        let ingest = exit_on_error(Ingest::new(&tinybird));
        let kafka = exit_on_error(Service::Kafka.need(config.services.kafka.clone()));
        let mut stopping = stopping.clone();
        tasks.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = stopping.wait_for(|stopping| *stopping).await;
            };
            if let Err(err) = analytics::tinybird::consumer::run(&ingest, &kafka, &tinybird, stopped).await {
                tracing::error!(error = %err, "the Tinybird stream stopped");
            }
        }));
    }
    if tasks.is_empty() && config.role != Role::Api {
        exit_on_error::<(), _>(Err(format!(
            "PARLEY_ANALYTICS_ROLE={}: nothing to run (the report job needs PARLEY_REPORT_INTERVAL_SECS above 0, \
             the stream a Tinybird token)",
            config.role
        )));
    }
    let (function, router) = match config.role {
        Role::Api => ("analytics", analytics::router(state)),
        Role::Reports => ("analytics-reports", shared::http::health_routes()),
        Role::Ingest => ("analytics-ingest", shared::http::health_routes()),
    };
    let announcer = Announcer::new(function, config.services.redis.as_ref(), &config.http);
    let served = shared::http::serve(router, config.http.addr, announcer).await;
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    exit_on_error(served);
}
