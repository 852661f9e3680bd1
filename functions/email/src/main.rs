use shared::{config::Env, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(email::Config::from_env(&Env::from_process()));
    exit_on_error(shared::http::serve(email::router(), config.http.addr).await);
}
