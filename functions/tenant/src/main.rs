use shared::{config::Env, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(tenant::Config::from_env(&Env::from_process()));
    let state = exit_on_error(tenant::AppState::connect(&config).await);
    exit_on_error(shared::http::serve(tenant::router(state), config.http.addr).await);
}
