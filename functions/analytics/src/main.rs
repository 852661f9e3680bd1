use shared::{config::Env, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(analytics::Config::from_env(&Env::from_process()));
    exit_on_error(shared::http::serve(analytics::router(), config.http.addr).await);
}
