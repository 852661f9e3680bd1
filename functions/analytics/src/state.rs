//! What every handler and job can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use shared::{
    auth::AccessTokens,
    error::ServiceError,
    events::KafkaPublisher,
    redis::Redis,
    repos::Repos,
    services::{Service, Services},
};

use crate::{
    Config,
    config::{LiveConfig, StatusConfig},
    reports::ReportStore,
    source::Source,
    tinybird::pipes::Pipes,
};

#[derive(Clone)]
pub struct AppState {
    pub repos: Repos,
    /// The queries only analytics makes (open chatrooms, reports' windows, tenant paging).
    pub source: Source,
    pub db: mongodb::Database,
    pub redis: Redis,
    /// Asked for metadata by `/status`; the analytics function produces nothing.
    pub kafka: KafkaPublisher,
    pub tokens: AccessTokens,
    pub status: Arc<StatusConfig>,
    pub reports: ReportStore,
    /// Checks the functions' health URLs.
    pub http: reqwest::Client,
    /// Reads Tinybird's pipes for `/live/...`; `None` without `PARLEY_TINYBIRD_READ_TOKEN`.
    pub live: Option<Pipes>,
}

impl AppState {
    /// Connects to MongoDB (creating the indexes, analytics' own too), Redis and Kafka; a service
    /// `config.services` leaves out is named.
    pub async fn connect(config: &Config) -> Result<Self, ServiceError> {
        let services = Services::connect(&config.services, &[]).await?;
        let db = Service::Mongo.need(services.db)?;
        let redis = Service::Redis.need(services.redis)?;
        let (kafka, _) = Service::Kafka.need(services.kafka)?;
        let state = Self::new(&db, redis, kafka, AccessTokens::new(&config.auth), config.status.clone()).await?;
        state.reading(config.live.as_ref())
    }

    /// The state reading Tinybird's pipes with `live` (nothing when `None`).
    pub fn reading(self, live: Option<&LiveConfig>) -> Result<Self, ServiceError> {
        Ok(Self { live: live.map(Pipes::new).transpose()?, ..self })
    }

    /// The state over connections already made (how tests point it at their own database and
    /// Redis prefix, and how the local-dev runner shares its own).
    pub async fn new(
        db: &mongodb::Database,
        redis: Redis,
        kafka: KafkaPublisher,
        tokens: AccessTokens,
        status: StatusConfig,
    ) -> Result<Self, ServiceError> {
        let reports = ReportStore::new(db);
        reports.ensure_indexes().await.map_err(|e| {
            ServiceError::misconfigured("MongoDB", format!("could not create the usage reports' index: {e}"))
        })?;
        let source = Source::new(db);
        source.ensure_indexes(db).await.map_err(|e| {
            ServiceError::misconfigured("MongoDB", format!("could not create the analytics queries' indexes: {e}"))
        })?;
        Ok(Self {
            repos: Repos::mongo(db),
            source,
            db: db.clone(),
            redis,
            kafka,
            tokens,
            status: Arc::new(status),
            reports,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| ServiceError::misconfigured("the HTTP client", e.to_string()))?,
            live: None,
        })
    }
}

impl FromRef<AppState> for AccessTokens {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.clone()
    }
}
