//! What `handle` reaches: the repositories, the sent-log, the transport, the dead-letter topic.

use std::sync::Arc;

use shared::{
    error::ServiceError,
    events::{EventPublisher, KafkaPublisher, Topic},
    repos::Repos,
};

use crate::{
    Config,
    config::{MailConfig, RetryPolicy},
    sent_log::SentLog,
    transport::Transport,
};

/// The topics the email function reads.
pub const CONSUMED: [Topic; 2] = [Topic::Chatrooms, Topic::Tenants];

#[derive(Clone)]
pub struct AppState {
    pub repos: Repos,
    pub sent_log: SentLog,
    pub transport: Arc<dyn Transport>,
    /// Where emails given up on go (`emails.dlq`), through the outbox like every event.
    pub dead_letters: Arc<dyn EventPublisher>,
    pub mail: MailConfig,
    pub retry: RetryPolicy,
}

impl AppState {
    /// Connects to MongoDB (creating the indexes, the sent-log's too) and Kafka (creating the
    /// topics it reads and the dead-letter topic), and sets the transport up.
    pub async fn connect(config: &Config) -> Result<Self, ServiceError> {
        let db = shared::mongo::open(&config.mongo).await?;
        SentLog::ensure_indexes(&db).await.map_err(|e| {
            ServiceError::misconfigured("MongoDB", format!("could not create the sent-log's index: {e}"))
        })?;
        shared::events::ensure_topics(&config.kafka, &[Topic::Chatrooms, Topic::Tenants, Topic::EmailsDlq]).await?;
        let kafka = KafkaPublisher::connect(&config.kafka).await?;
        let (dead_letters, _relay) = shared::events::kafka_with_outbox(kafka, &db, std::future::pending());
        let transport = crate::transport::from_config(&config.transport)
            .await
            .map_err(|e| ServiceError::misconfigured("the email transport", e.to_string()))?;
        Ok(Self::new(&db, transport, dead_letters, config.mail.clone(), config.retry))
    }

    /// The state over a database whose indexes exist, with the given transport and dead-letter
    /// publisher (how tests put a stopped SMTP server or an SES stand-in in).
    pub fn new(
        db: &mongodb::Database,
        transport: Arc<dyn Transport>,
        dead_letters: Arc<dyn EventPublisher>,
        mail: MailConfig,
        retry: RetryPolicy,
    ) -> Self {
        Self { repos: Repos::mongo(db), sent_log: SentLog::new(db), transport, dead_letters, mail, retry }
    }
}
