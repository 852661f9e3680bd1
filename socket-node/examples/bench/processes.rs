//! The servers a bench starts beside Parley: Centrifugo, or any other process listening on a
//! free loopback port.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

/// Starts Centrifugo on `port`: anonymous clients (`client.insecure`), and `channel`'s options
/// for channels without a namespace (`null` for none).
pub fn start_centrifugo(binary: &str, port: u16, channel: Value) -> Child {
    let mut config = json!({
        "http_server": {"address": "127.0.0.1", "port": port},
        "log": {"level": "error"},
        "client": {"insecure": true, "allowed_origins": ["*"]},
    });
    if !channel.is_null() {
        config["channel"] = json!({"without_namespace": channel});
    }
    let path = std::env::temp_dir().join(format!("parley-bench-centrifugo-{port}.json"));
    std::fs::write(&path, config.to_string()).expect("the Centrifugo config written");
    spawn(Command::new(binary).arg("--config").arg(&path))
}

pub fn spawn(command: &mut Command) -> Child {
    command.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("the server started")
}

pub fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// Waits until something listens on `port` (30 s at most).
pub async fn wait_for_port(port: u16) {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on port {port} after 30 s");
}
