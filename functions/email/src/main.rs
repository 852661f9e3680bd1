use shared::{config::Env, discovery::Announcer, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(email::Config::from_env(&Env::from_process()));
    let state = exit_on_error(email::AppState::connect(&config).await);
    if shared::http::is_lambda() {
        tracing::info!("running on AWS Lambda");
        exit_on_error(email::lambda::run(state).await);
        return;
    }
    // Self-hosted: the consumer group, and a health endpoint beside it, announced in Redis when
    // one is configured; SIGTERM stops them all.
    let listener = exit_on_error(shared::http::bind(config.http.addr).await);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stopped| *stopped).await;
    };
    let announcer = Announcer::new("email", config.redis.as_ref(), &config.http);
    let announced = announcer.start(exit_on_error(listener.local_addr()), until_stopped(stopped.clone()));
    let router = shared::http::with_common_layers(email::router());
    let server = tokio::spawn(shared::http::serve_on(listener, router, until_stopped(stopped)));
    let consumed = email::consumer::run(state, &config, async {
        shared::http::shutdown_signal().await;
        let _ = stop.send(true);
    })
    .await;
    let _ = stop.send(true);
    let _ = announced.await;
    let _ = server.await;
    exit_on_error(consumed);
}
