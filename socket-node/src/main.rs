use shared::{config::Env, services::ServicesConfig, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let env = Env::from_process();
    let config = exit_on_error(socket_node::Config::from_env(&env));
    let services = exit_on_error(ServicesConfig::required(&env));
    let listener = exit_on_error(shared::http::bind(config.http.addr).await);
    let info = socket_node::NodeInfo::new(exit_on_error(listener.local_addr()));
    let backends = exit_on_error(socket_node::Backends::connect(&services, &info.id).await);
    let node = exit_on_error(socket_node::Node::start(config, backends, info).await);
    tracing::info!(address = %node.state.node.address, node_id = %node.state.node.id, "socket-node listening");

    // On SIGTERM or Ctrl-C every WebSocket closes with 1001 (clients reconnect, to any node, and
    // resume), in-flight requests finish, then the events still queued are sent.
    let trigger = node.shutdown_trigger();
    let shutdown = async move {
        shared::http::shutdown_signal().await;
        trigger.begin();
    };
    let router = shared::http::with_common_layers(socket_node::router(node.state.clone()));
    let served = shared::http::serve_on(listener, router, shutdown).await;
    node.stop().await;
    exit_on_error(served);
}
