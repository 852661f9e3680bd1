//! Kafka: the producer behind [`EventPublisher`], topic creation, and the consumer-group loop
//! that the email and analytics functions run when self-hosted (one event at a time, or in
//! batches).

use std::{future::Future, time::Duration};

use async_trait::async_trait;
use rdkafka::{
    ClientConfig, ClientContext, Message,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    config::RDKafkaLogLevel,
    consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer},
    error::{KafkaError, KafkaResult, RDKafkaErrorCode},
    message::BorrowedMessage,
    producer::{FutureProducer, FutureRecord, Producer},
    util::Timeout,
};

use super::{Envelope, EventPublisher, OutgoingEvent, PublishError, Topic};
use crate::{config::KafkaConfig, error::ServiceError};

/// How long start-up waits for the brokers' metadata before it gives up.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.brokers).set("client.id", "parley");
    client
}

/// Routes librdkafka's own logs and errors into `tracing`.
///
/// Broker connection failures go to DEBUG: librdkafka repeats them on every reconnect attempt
/// (hundreds of lines while a broker is down), and Parley reports them itself where they matter,
/// as a one-line start-up error or as a failed publish.
#[derive(Clone, Copy, Default)]
pub struct KafkaLogContext;

fn is_connection_failure(code: RDKafkaErrorCode) -> bool {
    matches!(code, RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown)
}

impl ClientContext for KafkaLogContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            _ if facility == "FAIL" => tracing::debug!(target: "librdkafka", facility, "{message}"),
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(code) if is_connection_failure(code) => tracing::debug!(target: "librdkafka", %error, "{reason}"),
            _ => tracing::warn!(target: "librdkafka", %error, "{reason}"),
        }
    }
}

impl ConsumerContext for KafkaLogContext {}

fn unreachable(config: &KafkaConfig, err: impl std::fmt::Display) -> ServiceError {
    ServiceError::unreachable("Kafka", &config.brokers, err.to_string())
}

/// Creates Parley's topics (with the configured prefix, partitions and replication) unless they
/// exist. Parley never relies on broker-side auto-creation.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[Topic]) -> Result<(), ServiceError> {
    let admin: AdminClient<KafkaLogContext> =
        client_config(config).create_with_context(KafkaLogContext).map_err(|e| unreachable(config, e))?;
    let names: Vec<String> = topics.iter().map(|t| t.name(&config.topic_prefix)).collect();
    let new_topics: Vec<NewTopic> = names
        .iter()
        .map(|name| NewTopic::new(name, config.partitions, TopicReplication::Fixed(config.replication)))
        .collect();
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let results = tokio::time::timeout(Duration::from_secs(15), admin.create_topics(&new_topics, &options))
        .await
        .map_err(|_| unreachable(config, "topic creation did not finish within 15s"))?
        .map_err(|e| unreachable(config, e))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(ServiceError::misconfigured("Kafka", format!("could not create topic {topic}: {code}")));
            }
        }
    }
    Ok(())
}

/// The production [`EventPublisher`]: an idempotent producer with `acks=all`, so a retried send
/// never duplicates or reorders an event within its partition.
#[derive(Clone)]
pub struct KafkaPublisher {
    producer: FutureProducer<KafkaLogContext>,
    topic_prefix: String,
}

impl KafkaPublisher {
    /// Creates the producer and checks the brokers answer, failing within seconds with a
    /// [`ServiceError`] naming Kafka.
    pub async fn connect(config: &KafkaConfig) -> Result<Self, ServiceError> {
        let producer: FutureProducer<KafkaLogContext> = client_config(config)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "10000")
            .set("linger.ms", "2")
            .create_with_context(KafkaLogContext)
            .map_err(|e| unreachable(config, e))?;
        // A metadata request is the cheapest question every broker answers; it blocks, so it
        // runs off the async threads.
        let probe = producer.clone();
        tokio::task::spawn_blocking(move || probe.client().fetch_metadata(None, METADATA_TIMEOUT).map(drop))
            .await
            .map_err(|e| unreachable(config, e))?
            .map_err(|e| match e {
                KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut) => {
                    unreachable(config, format!("no broker answered within {}s", METADATA_TIMEOUT.as_secs()))
                }
                other => unreachable(config, other),
            })?;
        Ok(Self { producer, topic_prefix: config.topic_prefix.clone() })
    }

    /// Whether a broker answers a metadata request within `timeout` (readiness checks).
    pub async fn probe(&self, timeout: Duration) -> bool {
        let probe = self.producer.clone();
        tokio::task::spawn_blocking(move || probe.client().fetch_metadata(None, timeout).is_ok()).await.unwrap_or(false)
    }

    /// Waits up to `timeout` for queued events to be delivered (call before exiting).
    pub fn flush(&self, timeout: Duration) {
        let _ = self.producer.flush(timeout);
    }
}

/// How long the outbox relay's availability question may take.
const AVAILABILITY_TIMEOUT: Duration = Duration::from_secs(2);

#[async_trait]
impl EventPublisher for KafkaPublisher {
    async fn available(&self) -> bool {
        self.probe(AVAILABILITY_TIMEOUT).await
    }

    async fn publish(&self, event: &OutgoingEvent) -> Result<(), PublishError> {
        let payload = serde_json::to_vec(&event.envelope).map_err(|e| PublishError::Rejected(e.to_string()))?;
        let topic = event.topic.name(&self.topic_prefix);
        let record = FutureRecord::to(&topic).key(event.key.as_bytes()).payload(&payload);
        match self.producer.send(record, Timeout::Never).await {
            Ok(_) => Ok(()),
            Err((KafkaError::MessageProduction(code), _)) if is_transient(code) => {
                Err(PublishError::Unavailable(code.to_string()))
            }
            Err((err, _)) => Err(PublishError::Rejected(err.to_string())),
        }
    }
}

fn is_transient(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageTimedOut
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::QueueFull
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::NotEnoughReplicas
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::NotLeaderForPartition
    )
}

/// Runs a consumer-group loop over `topics` until `shutdown` resolves.
///
/// Each message is decoded as an [`Envelope`] and given to `handler`; its offset is stored for
/// commit only after the handler succeeds (librdkafka commits stored offsets every second and
/// when the loop stops), so a crash re-delivers rather than loses (handlers are idempotent by
/// envelope id). A failing handler is retried with backoff (100 ms doubling to
/// 30 s) on the same message, which keeps the partition's order. A payload that is not an
/// envelope can never succeed: it is logged with its position and skipped.
///
/// This is [`consume_batches`] with batches of one message.
pub async fn consume<H, Fut, E>(
    config: &KafkaConfig,
    group_id: &str,
    topics: &[Topic],
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError>
where
    H: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let handler = &handler;
    let one_by_one = move |batch: Vec<Envelope>| async move {
        // A batch of one message holds one envelope.
        for envelope in batch {
            handler(envelope).await?;
        }
        Ok::<(), E>(())
    };
    consume_batches(config, group_id, topics, 1, Duration::ZERO, one_by_one, shutdown).await
}

/// Runs a consumer-group loop over `topics` until `shutdown` resolves, handing `handler` the
/// events in batches (for sinks that take many rows per request, such as Tinybird).
///
/// A batch starts with the next message and gathers more until it holds `max_events` messages or
/// `max_wait` has passed since its first one; `handler` gets the batch's envelopes in the order
/// they arrived (each partition's in offset order). A payload that is not an envelope can never
/// succeed: it is logged with its position and left out; a batch of nothing but such payloads
/// is not handed over at all.
///
/// The offsets of every message in the batch are stored for commit only after the handler
/// succeeds (librdkafka commits stored offsets every second and when the loop stops), so a crash
/// re-delivers rather than loses (handlers are idempotent by envelope id). A failing handler is
/// retried with backoff (100 ms doubling to 30 s) on the same batch: nothing is skipped and each
/// partition's order holds. When `shutdown` resolves mid-batch, the batch is left unstored and
/// delivered again to whichever member of the group reads its partitions next.
pub async fn consume_batches<H, Fut, E>(
    config: &KafkaConfig,
    group_id: &str,
    topics: &[Topic],
    max_events: usize,
    max_wait: Duration,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError>
where
    H: Fn(Vec<Envelope>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let consumer: StreamConsumer<KafkaLogContext> = client_config(config)
        .set("group.id", group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .create_with_context(KafkaLogContext)
        .map_err(|e| unreachable(config, e))?;
    let names: Vec<String> = topics.iter().map(|t| t.name(&config.topic_prefix)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    consumer.subscribe(&names).map_err(|e| unreachable(config, e))?;

    tokio::pin!(shutdown);
    let batching = Batching { max_events: max_events.max(1), max_wait };
    let result = consume_until(&consumer, batching, &handler, shutdown).await;
    // Commit what was handled before leaving the group, so the next member starts right after it.
    if let Err(err) = consumer.commit_consumer_state(CommitMode::Sync)
        && !matches!(err, KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset))
    {
        tracing::warn!(error = %err, "could not commit the final Kafka offsets; some events may be delivered again");
    }
    result
}

#[derive(Clone, Copy)]
struct Batching {
    max_events: usize,
    max_wait: Duration,
}

/// The messages of one batch: their envelopes in order, and the last offset seen per partition.
#[derive(Default)]
struct Batch {
    messages: usize,
    envelopes: Vec<Envelope>,
    last_offsets: Vec<(String, i32, i64)>,
}

impl Batch {
    fn add(&mut self, message: &BorrowedMessage<'_>) {
        self.messages += 1;
        match message.payload().map(serde_json::from_slice::<Envelope>) {
            Some(Ok(envelope)) => self.envelopes.push(envelope),
            _ => tracing::error!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                "skipping a message that is not an event envelope"
            ),
        }
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        match self.last_offsets.iter_mut().find(|(t, p, _)| t == topic && *p == partition) {
            Some(last) => last.2 = last.2.max(offset),
            None => self.last_offsets.push((topic.to_owned(), partition, offset)),
        }
    }

    /// Marks every message of the batch handled. librdkafka's `rd_kafka_offset_store`, behind
    /// `store_offset`, stores `offset + 1` (the next message to read) itself.
    fn store(&self, consumer: &StreamConsumer<KafkaLogContext>) {
        for (topic, partition, offset) in &self.last_offsets {
            if let Err(err) = consumer.store_offset(topic, *partition, *offset) {
                tracing::warn!(error = %err, %topic, partition, "could not store a Kafka offset; events may be delivered again");
            }
        }
    }
}

fn received(message: KafkaResult<BorrowedMessage<'_>>, batch: &mut Batch) {
    match message {
        Ok(message) => batch.add(&message),
        Err(err) => tracing::warn!(error = %err, "Kafka consumer error"),
    }
}

async fn consume_until<H, Fut, E>(
    consumer: &StreamConsumer<KafkaLogContext>,
    batching: Batching,
    handler: &H,
    mut shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Result<(), ServiceError>
where
    H: Fn(Vec<Envelope>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    loop {
        let mut batch = Batch::default();
        while batch.messages == 0 {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                message = consumer.recv() => received(message, &mut batch),
            }
        }
        let gathering = tokio::time::sleep(batching.max_wait);
        tokio::pin!(gathering);
        while batch.messages < batching.max_events {
            tokio::select! {
                biased;
                () = &mut shutdown => return Ok(()),
                () = &mut gathering => break,
                message = consumer.recv() => received(message, &mut batch),
            }
        }
        if !batch.envelopes.is_empty() {
            let mut backoff = Duration::from_millis(100);
            loop {
                let attempt = tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    result = handler(batch.envelopes.clone()) => result,
                };
                let Err(err) = attempt else { break };
                tracing::warn!(
                    event_id = %batch.envelopes[0].id,
                    events = batch.envelopes.len(),
                    error = %err,
                    retry_in_ms = backoff.as_millis() as u64,
                    "event handler failed"
                );
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
        batch.store(consumer);
    }
}
