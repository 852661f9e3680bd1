//! A Kafka broker of the test's own, to stop and restart: how the outbox tests take the broker
//! away without disturbing the shared one every other test uses.
//!
//! [`PrivateKafka::start`] runs a single-node KRaft Apache Kafka exactly as
//! `scripts/lib/services.sh` (`start_kafka`) does — same java command line, same properties —
//! on free loopback ports, with its data in a fresh temporary directory. It needs the jars that
//! script provisions: `scripts/test` exports their directory as `PARLEY_KAFKA_LIBS`. Starting one
//! takes about ten seconds and half a gigabyte of heap, so tests use them sparingly.
//! Dropping it kills the JVM and removes the directory.

use std::{
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use base64::Engine;
use rdkafka::{
    ClientConfig,
    producer::{BaseProducer, Producer},
};
use uuid::Uuid;

use super::closed_port;
use crate::config::KafkaConfig;

/// How long a start or restart may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a clean shutdown may take before the JVM is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

pub struct PrivateKafka {
    dir: PathBuf,
    libs: PathBuf,
    port: u16,
    child: Option<Child>,
    config: KafkaConfig,
}

impl PrivateKafka {
    /// Formats the storage and starts the broker, returning once it answers a metadata request.
    /// Panics, with the broker's log, when it cannot start; and when `PARLEY_KAFKA_LIBS` is not set.
    pub async fn start() -> Self {
        let libs = match std::env::var_os("PARLEY_KAFKA_LIBS") {
            Some(libs) if !libs.is_empty() => PathBuf::from(libs),
            _ => panic!(
                "PARLEY_KAFKA_LIBS is not set: this test starts a private Kafka broker from the jars that \
                 scripts/test provisions; run it with scripts/test (which exports PARLEY_KAFKA_LIBS)"
            ),
        };
        assert!(libs.is_dir(), "PARLEY_KAFKA_LIBS names {}, which is not a directory", libs.display());
        let dir = std::env::temp_dir().join(format!("parley-kafka-{}", Uuid::new_v4().simple()));
        fs::create_dir_all(dir.join("data")).expect("create the private broker's directory");
        let (port, controller_port) = (closed_port(), closed_port());
        write_config(&dir, port, controller_port);
        let config = KafkaConfig {
            brokers: format!("127.0.0.1:{port}"),
            topic_prefix: format!("test_{}.", Uuid::new_v4().simple()),
            partitions: 3,
            replication: 1,
        };
        let mut kafka = Self { dir, libs, port, child: None, config };
        kafka.format().await;
        kafka.launch().await;
        kafka
    }

    /// Where the broker is, with a topic prefix of this broker's own.
    pub fn config(&self) -> KafkaConfig {
        self.config.clone()
    }

    /// Stops the broker: SIGTERM, a wait for a clean shutdown, SIGKILL if it takes too long.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        // The shell's `kill` builtin: no extra package, and no `unsafe` signal call.
        let _ = Command::new("sh").arg("-c").arg(format!("kill -TERM {}", child.id())).status();
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        loop {
            if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = tokio::task::spawn_blocking(move || child.wait()).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the broker again on the same ports and data, returning once it answers a metadata
    /// request.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    fn java(&self) -> Command {
        let mut java = Command::new("java");
        java.args(["-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg(format!("-Dlog4j.configuration=file:{}", self.dir.join("log4j.properties").display()))
            .arg("-cp")
            .arg(format!("{}/*", self.libs.display()))
            .stdin(Stdio::null());
        java
    }

    async fn format(&self) {
        let mut format = self.java();
        format
            .args(["kafka.tools.StorageTool", "format", "-t", &cluster_id(), "-c"])
            .arg(self.dir.join("server.properties"));
        let output = tokio::task::spawn_blocking(move || format.output())
            .await
            .expect("the format task")
            .unwrap_or_else(|e| panic!("could not run java (is a JRE installed? scripts/test installs one): {e}"));
        assert!(
            output.status.success(),
            "kafka.tools.StorageTool format failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    async fn launch(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("stdout.log"))
            .expect("open the private broker's log");
        let err = log.try_clone().expect("clone the log handle");
        let child = self
            .java()
            .arg("kafka.Kafka")
            .arg(self.dir.join("server.properties"))
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("could not run java (is a JRE installed? scripts/test installs one): {e}"));
        self.child = Some(child);
        self.wait_until_ready().await;
    }

    /// Polls, until a deadline, for the port to accept connections and then for a metadata answer.
    async fn wait_until_ready(&mut self) {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let probe: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.config.brokers)
            .set("log_level", "0")
            .create()
            .expect("a Kafka client");
        let probe = std::sync::Arc::new(probe);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("the private Kafka broker exited ({status}) during start-up:\n{}", self.log_tail());
            }
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                let probe = probe.clone();
                let answered = tokio::task::spawn_blocking(move || {
                    probe.client().fetch_metadata(None, Duration::from_secs(2)).is_ok_and(|m| !m.brokers().is_empty())
                })
                .await
                .unwrap_or(false);
                if answered {
                    return;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "the private Kafka broker did not answer on 127.0.0.1:{} within {START_TIMEOUT:?}:\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The end of the JVM's output and of the broker's log.
    fn log_tail(&self) -> String {
        ["stdout.log", "kafka.log"]
            .iter()
            .map(|name| {
                let log = fs::read_to_string(self.dir.join(name)).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                format!("--- {name}\n{}", lines[lines.len().saturating_sub(30)..].join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for PrivateKafka {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A cluster id: 16 random bytes in base64url, not starting with '-' (it would read as an option).
fn cluster_id() -> String {
    loop {
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes());
        if !id.starts_with('-') {
            return id;
        }
    }
}

/// `server.properties` and `log4j.properties`, as `scripts/lib/services.sh` writes them.
fn write_config(dir: &Path, port: u16, controller_port: u16) {
    let data = dir.join("data");
    let server = format!(
        "process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
",
        data = data.display()
    );
    let log4j = format!(
        "log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
",
        log = dir.join("kafka.log").display()
    );
    fs::write(dir.join("server.properties"), server).expect("write server.properties");
    fs::write(dir.join("log4j.properties"), log4j).expect("write log4j.properties");
}
