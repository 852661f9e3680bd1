//! What `handle` reaches: the repositories, the sent-log, the transport, the dead-letter topic.
//! [`AppState::connect`] builds it on the real services (MongoDB, Kafka, SMTP or SES);
//! [`AppState::in_memory`] on none, for `scripts/dev --memory`.

use std::sync::Arc;

use shared::{
    error::ServiceError,
    events::{EventPublisher, Topic},
    repos::Repos,
    services::{Service, Services},
};

use crate::{
    Config,
    config::{MailConfig, RetryPolicy},
    sent_log::{MemorySentLog, MongoSentLog, SentLog},
    transport::Transport,
};

/// The topics the email function reads.
pub const CONSUMED: [Topic; 2] = [Topic::Chatrooms, Topic::Tenants];

#[derive(Clone)]
pub struct AppState {
    pub repos: Repos,
    pub sent_log: Arc<dyn SentLog>,
    pub transport: Arc<dyn Transport>,
    /// Where emails given up on go (`emails.dlq`), through the outbox like every event.
    pub dead_letters: Arc<dyn EventPublisher>,
    pub mail: MailConfig,
    pub retry: RetryPolicy,
}

impl AppState {
    /// Connects to MongoDB (creating the indexes, the sent-log's too) and Kafka (creating the
    /// topics it reads and the dead-letter topic), and sets the transport up; a service
    /// `config.services` leaves out is named.
    pub async fn connect(config: &Config) -> Result<Self, ServiceError> {
        let services =
            Services::connect(&config.services, &[Topic::Chatrooms, Topic::Tenants, Topic::EmailsDlq]).await?;
        // Dead letters wait in the MongoDB outbox while Kafka is down, like every event.
        let dead_letters = services.events(std::future::pending()).publisher;
        Self::on(&services, dead_letters, config).await
    }

    /// The state over services already connected (MongoDB and Kafka, named when missing),
    /// sending dead letters to `dead_letters`: how the local-dev runner shares its own
    /// connections and outbox.
    pub async fn on(
        services: &Services,
        dead_letters: Arc<dyn EventPublisher>,
        config: &Config,
    ) -> Result<Self, ServiceError> {
        let db = Service::Mongo.need(services.db.clone())?;
        Service::Kafka.need(services.kafka.as_ref())?;
        MongoSentLog::ensure_indexes(&db).await.map_err(|e| {
            ServiceError::misconfigured("MongoDB", format!("could not create the sent-log's index: {e}"))
        })?;
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
        let sent_log = Arc::new(MongoSentLog::new(db));
        Self { repos: Repos::mongo(db), sent_log, transport, dead_letters, mail, retry }
    }

    /// The state with no service at all (`scripts/dev --memory`): `repos` shared with the other
    /// functions of the process (`Repos::memory()`), a [`MemorySentLog`], and typically a
    /// [`DevMailbox`](crate::transport::DevMailbox) as the transport and the process's
    /// `MemoryPublisher` for dead letters. What was sent is forgotten when the process ends.
    pub fn in_memory(
        repos: Repos,
        transport: Arc<dyn Transport>,
        dead_letters: Arc<dyn EventPublisher>,
        mail: MailConfig,
        retry: RetryPolicy,
    ) -> Self {
        Self { repos, sent_log: Arc::new(MemorySentLog::new()), transport, dead_letters, mail, retry }
    }
}
