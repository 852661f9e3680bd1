//! Parley's all-in-one runner (`scripts/dev`, or `cargo run -p local-dev`): every function and
//! the socket-node in one process, at one address.
//!
//! It runs on the services it is given and keeps the rest in process memory. `scripts/dev`
//! gives it all of them (FerretDB, Redis, Kafka, Mailpit, with their data kept in
//! `PARLEY_DATA_DIR`); `scripts/dev --memory` gives it none: repositories, rate limits, the
//! broker, presence and events then live in the process, and each email is printed and kept for
//! the `/dev/mail` page. Access-token and identity keys are kept in the data directory (see
//! [`keys`]), or made per process without one.
//!
//! It listens on `PARLEY_HTTP_ADDR` (default `127.0.0.1:8080`) and serves, as nginx routes them
//! in production:
//! - `/api/tenant/...`, `/api/chatbots/...`, `/api/analytics/...`, `/api/email/...`: the
//!   functions (analytics needs MongoDB, Redis and Kafka; without them its routes answer 503
//!   `analytics_unavailable`);
//! - `/v1/visitor/sessions`, `/v1/ws`, `/readyz`, `/metrics`: the socket-node;
//! - `/widget.js`, `/widget/...`: the built widget, from the socket-node;
//! - `/`: a page linking what a person opens; `/demo`, a demo shop embedding the widget of a
//!   demo chatbot made on the first visit (see [`demo`]); `/dev/mail`, the emails sent (kept in
//!   process, or read from the local Mailpit); in memory mode `/dev/events`, the events produced.
//!
//! Tests: `scripts/test -p local-dev` (the binary in both modes, the story over HTTP and
//! WebSocket, a restart that keeps everything).

pub mod demo;
pub mod dev_events;
pub mod home;
pub mod keys;

use std::{net::SocketAddr, path::PathBuf, str::FromStr, sync::Arc};

use axum::Router;
use shared::{
    auth::{AccessTokens, AuthConfig, ChatbotAccess, IdentityKeys},
    client_ip::TrustedProxies,
    config::{ConfigError, Env, HttpConfig},
    error::ServiceError,
    events::{EventPublisher, Topic},
    services::{Services, ServicesConfig},
};
use tokio::{sync::watch, task::JoinHandle};

pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// Where each function is mounted, as nginx routes it in production.
pub const MOUNTS: [(&str, &str); 4] = [
    ("tenant", "/api/tenant"),
    ("chatbots", "/api/chatbots"),
    ("analytics", "/api/analytics"),
    ("email", "/api/email"),
];

pub struct Config {
    pub http: HttpConfig,
    pub services: ServicesConfig,
    /// `PARLEY_DATA_DIR`: where the keys are kept (`scripts/dev` keeps the services' data there too).
    pub data_dir: Option<PathBuf>,
    /// `PARLEY_MAILBOX_URL`: the local Mailpit (from `scripts/dev`), whose emails `/dev/mail` shows.
    pub mailbox_url: Option<String>,
    pub auth: AuthConfig,
    pub identity: IdentityKeys,
    pub proxies: TrustedProxies,
    pub policy: tenant::Policy,
    /// `PARLEY_AUTH_COOKIE_PATH`, `PARLEY_AUTH_COOKIE_SECURE`: the console's refresh cookie (its
    /// default path, `/api/tenant/auth`, is where this runner mounts the tenant function's auth).
    pub auth_cookie: tenant::AuthCookie,
    pub chatbots: chatbot_provisioning::Policy,
    pub node: socket_node::Config,
    pub mail: email::config::MailConfig,
    pub retry: email::config::RetryPolicy,
    /// The email function's settings when it runs as a Kafka consumer group (with MongoDB and Kafka).
    pub email: Option<email::Config>,
    pub status: analytics::config::StatusConfig,
    pub reports: analytics::config::ReportsConfig,
    /// `PARLEY_TINYBIRD_TOKEN` (`scripts/dev` sets it to its local stand-in's): events streamed
    /// to Tinybird, with Kafka.
    pub tinybird: Option<analytics::config::TinybirdConfig>,
    /// `PARLEY_TINYBIRD_READ_TOKEN`: the console's real-time charts, read from Tinybird's pipes.
    pub live: Option<analytics::config::LiveConfig>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let data_dir: Option<PathBuf> = env.optional("PARLEY_DATA_DIR")?;
        let http = HttpConfig::from_env(env, DEFAULT_ADDR)?;
        // Every part reads the same keys, and links to this same address.
        let own_url = format!("http://{}", http.addr);
        let env = env
            .with_defaults(keys::load_or_create(data_dir.as_deref())?)
            .with_defaults([("PARLEY_PUBLIC_URL", own_url.clone()), ("PARLEY_PUBLIC_SOCKET_URL", own_url.clone())]);
        let services = ServicesConfig::from_env(&env)?;
        let own_url = chatbot_provisioning::PublicUrl::from_str(&own_url)
            .map_err(|reason| ConfigError { var: "PARLEY_HTTP_ADDR".into(), reason })?;
        let email = match (&services.mongo, &services.kafka) {
            (Some(_), Some(_)) => Some(email::Config::from_env(&env)?),
            _ => None,
        };
        Ok(Self {
            http,
            data_dir,
            mailbox_url: env.optional("PARLEY_MAILBOX_URL")?,
            auth: AuthConfig::from_env(&env)?,
            identity: IdentityKeys::from_env(&env)?,
            proxies: TrustedProxies::from_env(&env)?,
            policy: tenant::Policy::from_env(&env)?,
            auth_cookie: tenant::AuthCookie::from_env(&env)?,
            chatbots: chatbot_provisioning::Policy::from_env(&env, own_url)?,
            node: socket_node::Config::from_env(&env)?,
            mail: email::config::MailConfig::from_env(&env)?,
            retry: email::config::RetryPolicy::from_env(&env)?,
            email,
            status: analytics::config::StatusConfig::from_env(&env)?,
            reports: analytics::config::ReportsConfig::from_env(&env)?,
            tinybird: analytics::config::TinybirdConfig::from_env(&env)?,
            live: analytics::config::LiveConfig::from_env(&env)?,
            services,
        })
    }
}

/// All of Parley, running: its router, the socket-node, and the background work (email, the
/// report timer, the outbox relay) that stops with it.
pub struct Parley {
    pub router: Router,
    /// A line per part saying what it runs on, for the banner.
    pub described: Vec<(&'static str, String)>,
    /// What the home page and the banner link.
    pub links: home::Links,
    node: socket_node::Node,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Parley {
    /// Connects the configured services and starts every part; `address` is where the runner
    /// listens (the socket-node reports it).
    pub async fn start(config: &Config, address: SocketAddr) -> Result<Self, ServiceError> {
        let services = Services::connect(&config.services, &Topic::ALL).await?;
        let (stop, stopped) = watch::channel(false);
        let pipeline = services.events(until(stopped.clone()));
        let events = pipeline.publisher.clone();
        let mut tasks: Vec<JoinHandle<()>> = pipeline.relay.into_iter().collect();
        let mut described = describe(&services);
        let repos = services.repos();

        // Email: a consumer group on Kafka to the configured SMTP relay, or handled in process
        // into the development mailbox.
        let mut letters: Option<Arc<dyn email::dev_mail::Letters>> =
            config.mailbox_url.as_ref().map(|url| Arc::new(email::dev_mail::MailpitLetters::new(url.clone())) as _);
        match (&config.email, &pipeline.memory) {
            (Some(email_config), _) => {
                let state = email::AppState::on(&services, events.clone(), email_config).await?;
                let (email_config, stopped) = (email_config.clone(), stopped.clone());
                tasks.push(tokio::spawn(async move {
                    if let Err(err) = email::consumer::run(state, &email_config, until(stopped)).await {
                        tracing::error!(error = %err, "the email consumer stopped");
                    }
                }));
                described.push(("email", "Kafka consumer group, sent over SMTP".to_owned()));
            }
            (None, Some(memory)) => {
                let dev = Arc::new(email::transport::DevMailbox::default());
                let state = email::AppState::in_memory(
                    repos.clone(),
                    dev.clone(),
                    events.clone(),
                    config.mail.clone(),
                    config.retry,
                );
                tasks.push(tokio::spawn(email::in_process::run(state, memory.subscribe(), until(stopped.clone()))));
                described.push(("email", "printed here and kept at /dev/mail".to_owned()));
                letters = Some(dev);
            }
            (None, None) => described.push(("email", "off (it needs MongoDB beside Kafka)".to_owned())),
        }

        let info = socket_node::NodeInfo::new(address);
        let backends = socket_node::Backends::on(&services, events.clone(), &info.id);
        let node = socket_node::Node::start(config.node.clone(), backends, info).await?;

        let analytics = match (&services.db, &services.redis, &services.kafka) {
            (Some(db), Some(redis), Some((kafka, kafka_config))) => {
                let tokens = AccessTokens::new(&config.auth);
                let state = analytics::AppState::new(db, redis.clone(), kafka.clone(), tokens, config.status.clone())
                    .await?
                    .reading(config.live.as_ref())?;
                if let Some(interval) = config.reports.interval {
                    let job = analytics::reports::job::run_every(
                        state.clone(),
                        interval,
                        config.reports.days,
                        stopped.clone(),
                    );
                    tasks.push(tokio::spawn(job));
                }
                if let Some(tinybird) = &config.tinybird {
                    let ingest = analytics::tinybird::Ingest::new(tinybird)?;
                    let (kafka_config, tinybird, stopped) = (kafka_config.clone(), tinybird.clone(), stopped.clone());
                    tasks.push(tokio::spawn(async move {
                        let streamed =
                            analytics::tinybird::consumer::run(&ingest, &kafka_config, &tinybird, until(stopped));
                        if let Err(err) = streamed.await {
                            tracing::error!(error = %err, "the Tinybird stream stopped");
                        }
                    }));
                }
                let tinybird = match (&config.tinybird, &config.live) {
                    (Some(t), Some(_)) => format!("events streamed to {}, live charts read from it", t.url),
                    (Some(t), None) => {
                        format!("events streamed to {} (no PARLEY_TINYBIRD_READ_TOKEN: no live charts)", t.url)
                    }
                    (None, _) => "off (no PARLEY_TINYBIRD_TOKEN)".to_owned(),
                };
                described.push(("tinybird", tinybird));
                Some(state)
            }
            _ => {
                described.push(("analytics", "off (it needs MongoDB, Redis and Kafka)".to_owned()));
                None
            }
        };

        let links = home::Links::new(config, letters.is_some());
        let parts = Parts {
            config,
            address,
            services: &services,
            events,
            memory_events: pipeline.memory.clone(),
            analytics,
            letters,
        };
        let router = parts.router(&node, &links);
        Ok(Self { router, described, links, node, stop, tasks })
    }

    /// Closes every WebSocket with 1001, stops the background work and sends what is queued.
    pub async fn stop(self) {
        self.node.stop().await;
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }

    /// What starts the shutdown (closing every WebSocket with 1001) from a signal handler.
    pub fn shutdown_trigger(&self) -> socket_node::node::ShutdownTrigger {
        self.node.shutdown_trigger()
    }
}

async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stopped| *stopped).await;
}

fn describe(services: &Services) -> Vec<(&'static str, String)> {
    let storage = match &services.db {
        Some(db) => format!("MongoDB database {:?}", db.name()),
        None => "process memory (gone at Ctrl-C)".to_owned(),
    };
    let state = match &services.redis {
        Some(_) => "Redis (presence, broker, rate limits, chatbot cache)".to_owned(),
        None => "process memory".to_owned(),
    };
    let events = match (&services.kafka, &services.db) {
        (Some((_, kafka)), Some(_)) => format!("Kafka at {}, MongoDB outbox while it is down", kafka.brokers),
        (Some((_, kafka)), None) => format!("Kafka at {}", kafka.brokers),
        (None, _) => "process memory".to_owned(),
    };
    vec![("storage", storage), ("state", state), ("events", events)]
}

/// What the router is built from.
struct Parts<'a> {
    config: &'a Config,
    /// Where the runner listens.
    address: SocketAddr,
    services: &'a Services,
    events: Arc<dyn EventPublisher>,
    memory_events: Option<Arc<shared::events::MemoryPublisher>>,
    analytics: Option<analytics::AppState>,
    letters: Option<Arc<dyn email::dev_mail::Letters>>,
}

impl Parts<'_> {
    /// Every function under its production path, the socket-node's routes, the home page, the
    /// demo page and the development mailbox.
    fn router(self, node: &socket_node::Node, links: &home::Links) -> Router {
        let config = self.config;
        let repos = self.services.repos();
        let tenant_state = tenant::AppState {
            repos: repos.clone(),
            tokens: AccessTokens::new(&config.auth),
            limiter: self.services.limiter(),
            events: self.events.clone(),
            proxies: config.proxies.clone(),
            policy: config.policy,
            cookie: config.auth_cookie.clone(),
        };
        let chatbots_state = chatbot_provisioning::AppState {
            repos: repos.clone(),
            tokens: AccessTokens::new(&config.auth),
            identity: config.identity.clone(),
            access: ChatbotAccess::new(repos.chatbots.clone(), config.identity.clone(), self.services.redis.clone()),
            events: self.events.clone(),
            policy: config.chatbots.clone(),
        };
        let (tenant_api, chatbots_api) = (tenant::router(tenant_state), chatbot_provisioning::router(chatbots_state));
        let demo = demo::Setup {
            tenant: tenant_api.clone(),
            chatbots: chatbots_api.clone(),
            access: node.state.access.clone(),
            address: self.address,
            public_url: config.mail.public_url.to_string(),
            widget_base: config.chatbots.public_socket_url.clone(),
            data_dir: config.data_dir.clone(),
            widget_built: node.state.web.get("/widget.js").is_some(),
        };
        let [tenant, chatbots, analytics, email] = MOUNTS.map(|(_, path)| path);
        let mut router = Router::new()
            .nest(tenant, tenant_api)
            .nest(chatbots, chatbots_api)
            .nest(analytics, analytics_router(self.analytics))
            .nest(email, email::router())
            .merge(socket_node::routes(node.state.clone()))
            .merge(home::router(links.clone()))
            .merge(demo::router(demo));
        if let Some(letters) = self.letters {
            router = router.merge(email::dev_mail::router(letters));
        }
        if let Some(events) = self.memory_events {
            router = router.merge(dev_events::router(events));
        }
        router
    }
}

/// The analytics function over the real services; without them its routes answer 503
/// `analytics_unavailable`, naming what to set (its health check and its OpenAPI document still
/// answer).
fn analytics_router(state: Option<analytics::AppState>) -> Router {
    if let Some(state) = state {
        return analytics::router(state);
    }
    async fn unavailable() -> shared::ApiError {
        shared::ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "analytics_unavailable",
            "analytics needs MongoDB, Redis and Kafka: run scripts/dev without --memory",
        )
    }
    Router::new().merge(shared::http::health_routes()).merge(analytics::openapi::routes()).fallback(unavailable)
}
