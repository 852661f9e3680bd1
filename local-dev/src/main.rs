use shared::{config::Env, telemetry::exit_on_error};

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let config = exit_on_error(local_dev::Config::from_env(&Env::from_process()));
    let backends = exit_on_error(local_dev::backends(&config).await);
    let listener = exit_on_error(shared::http::bind(config.http.addr).await);
    let base = format!("http://{}", listener.local_addr().unwrap_or(config.http.addr));
    println!("Parley is running at {base}");
    for (part, what) in &backends.described {
        println!("  {part:<10} {what}");
    }
    for (name, path) in local_dev::MOUNTS {
        println!("  {name:<10} {base}{path}/healthz");
    }
    for (name, path) in [("tenant", "/api/tenant"), ("chatbots", "/api/chatbots")] {
        println!("  openapi    {base}{path}/openapi.json ({name})");
    }
    println!("Press Ctrl-C to stop.");
    let router = shared::http::with_common_layers(local_dev::app(&config, &backends));
    exit_on_error(shared::http::serve_on(listener, router, shared::http::shutdown_signal()).await);
}
