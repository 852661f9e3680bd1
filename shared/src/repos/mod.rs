//! Repositories: one trait per aggregate, each with a MongoDB and an in-memory implementation.
//!
//! Each aggregate is a folder: `<aggregate>/mod.rs` holds the trait, its types and its errors,
//! `<aggregate>/mongo.rs` the MongoDB implementation and the indexes it needs
//! (`ensure_indexes`), `<aggregate>/memory.rs` the in-memory one. What they share is here
//! ([`Repos`], [`RepoError`]) and in `mongo_util.rs` (filters and conversions of the MongoDB
//! implementations). Queries only the analytics function makes live beside it
//! (`functions/analytics/src/source.rs`), not here.
//!
//! Every tenant-owned method takes the `&TenantId` first and never matches a row of another
//! tenant, so an id from another tenant answers "not found". The exceptions are
//! [`UserRepo::find_by_email`] and [`SessionRepo::get`], which login and refresh need before they
//! know the tenant, and [`ChatroomRepo::list_overdue_standby`] and [`ChatroomRepo::list_unclaimed`],
//! the system's sweeps.
//!
//! Both implementations pass one contract suite (`shared/tests/shared/repos/`, a file per
//! aggregate), so the local-dev runner's in-memory storage behaves like MongoDB, conflicts
//! included.

mod blocks;
mod chatbots;
mod chatrooms;
mod messages;
mod mongo_util;
mod roles;
mod seats;
mod sessions;
mod tenants;
mod users;

use std::sync::Arc;

use crate::domain::Timestamp;

pub use blocks::BlockRepo;
pub use chatbots::ChatbotRepo;
pub use chatrooms::ChatroomRepo;
pub use messages::{Inserted, MessageRepo};
pub use roles::{RolePatch, RoleRepo};
pub use seats::{Seat, SeatRepo};
pub use sessions::{Rotation, SessionRepo};
pub use tenants::TenantRepo;
pub use users::UserRepo;

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A unique constraint refused the write (HTTP 409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The row to change does not exist for this tenant (HTTP 404).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// The database cannot be reached right now (HTTP 503).
    #[error("the database is unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// Anything else (HTTP 500).
    #[error("database error: {0:#}")]
    Internal(anyhow::Error),
}

impl RepoError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound { code, message: message.into() }
    }
}

/// The repositories an app needs, as cheap-clone trait objects.
#[derive(Clone)]
pub struct Repos {
    pub tenants: Arc<dyn TenantRepo>,
    pub users: Arc<dyn UserRepo>,
    pub roles: Arc<dyn RoleRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub chatbots: Arc<dyn ChatbotRepo>,
    pub chatrooms: Arc<dyn ChatroomRepo>,
    pub messages: Arc<dyn MessageRepo>,
    pub blocks: Arc<dyn BlockRepo>,
    pub seats: Arc<dyn SeatRepo>,
}

impl Repos {
    /// Repositories on a MongoDB database (run [`crate::mongo::ensure_indexes`] on it first).
    pub fn mongo(db: &mongodb::Database) -> Self {
        Self {
            tenants: Arc::new(tenants::MongoTenants::new(db)),
            users: Arc::new(users::MongoUsers::new(db)),
            roles: Arc::new(roles::MongoRoles::new(db)),
            sessions: Arc::new(sessions::MongoSessions::new(db)),
            chatbots: Arc::new(chatbots::MongoChatbots::new(db)),
            chatrooms: Arc::new(chatrooms::MongoChatrooms::new(db)),
            messages: Arc::new(messages::MongoMessages::new(db)),
            blocks: Arc::new(blocks::MongoBlocks::new(db)),
            seats: Arc::new(seats::MongoSeats::new(db)),
        }
    }

    /// Repositories in process memory, for `scripts/dev --memory` and fast unit tests.
    pub fn memory() -> Self {
        Self {
            tenants: Arc::new(tenants::MemoryTenants::default()),
            users: Arc::new(users::MemoryUsers::default()),
            roles: Arc::new(roles::MemoryRoles::default()),
            sessions: Arc::new(sessions::MemorySessions::default()),
            chatbots: Arc::new(chatbots::MemoryChatbots::default()),
            chatrooms: Arc::new(chatrooms::MemoryChatrooms::default()),
            messages: Arc::new(messages::MemoryMessages::default()),
            blocks: Arc::new(blocks::MemoryBlocks::default()),
            seats: Arc::new(seats::MemorySeats::default()),
        }
    }
}

/// Creates the repositories' indexes (each aggregate's own, in its `mongo.rs`). Idempotent.
pub(crate) async fn ensure_indexes(db: &mongodb::Database) -> Result<(), RepoError> {
    users::ensure_indexes(db).await?;
    roles::ensure_indexes(db).await?;
    sessions::ensure_indexes(db).await?;
    chatbots::ensure_indexes(db).await?;
    chatrooms::ensure_indexes(db).await?;
    messages::ensure_indexes(db).await?;
    blocks::ensure_indexes(db).await?;
    seats::ensure_indexes(db).await
}

/// Rows sorted oldest first by `key` (creation time, then id): how the in-memory repositories
/// list what MongoDB sorts by `{createdAt: 1, _id: 1}`.
fn oldest_first<T>(mut rows: Vec<T>, key: impl Fn(&T) -> (Timestamp, String)) -> Vec<T> {
    rows.sort_by_key(key);
    rows
}
