use shared::{config::Env, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(local_dev::Config::from_env(&Env::from_process()));
    let listener = exit_on_error(shared::http::bind(config.http.addr).await);
    let address = exit_on_error(listener.local_addr());
    let parley = exit_on_error(local_dev::Parley::start(&config, address).await);
    println!("Parley is running at http://{address}");
    for (what, place) in parley.links.banner().into_iter().chain(parley.described.iter().cloned()) {
        println!("  {what:<10} {place}");
    }
    println!("Press Ctrl-C to stop.");

    // Ctrl-C or SIGTERM: every WebSocket closes with 1001, in-flight requests finish, then the
    // background work stops and the events still queued are sent.
    let trigger = parley.shutdown_trigger();
    let shutdown = async move {
        shared::http::shutdown_signal().await;
        trigger.begin();
    };
    let router = shared::http::with_common_layers(parley.router.clone());
    let served = shared::http::serve_on(listener, router, shutdown).await;
    parley.stop().await;
    exit_on_error(served);
}
