use shared::{config::Env, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(socket_node::Config::from_env(&Env::from_process()));
    let state = exit_on_error(socket_node::AppState::connect(&config).await);
    let addr = config.http.addr;
    let listener = exit_on_error(shared::http::bind(addr).await);
    tracing::info!(%addr, "socket-node listening");
    exit_on_error(
        shared::http::serve_on(
            listener,
            shared::http::with_common_layers(socket_node::router(state)),
            shared::http::shutdown_signal(),
        )
        .await,
    );
}
