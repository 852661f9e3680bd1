use shared::{config::Env, discovery::Announcer, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(tenant::Config::from_env(&Env::from_process()));
    let state = exit_on_error(tenant::AppState::connect(&config).await);
    let announcer = Announcer::new("tenant", config.services.redis.as_ref(), &config.http);
    exit_on_error(shared::http::serve(tenant::router(state), config.http.addr, announcer).await);
}
