//! Repositories: one trait per aggregate, each with a MongoDB and an in-memory implementation.
//!
//! Every tenant-owned method takes the `&TenantId` first and never matches a row of another
//! tenant, so an id from another tenant answers "not found". The exceptions are
//! [`UserRepo::find_by_email`] and [`SessionRepo::get`], which login and refresh need before they
//! know the tenant, and [`ChatroomRepo::list_overdue_standby`], the system's standby sweep.
//!
//! Both implementations pass one contract suite (`shared/tests/shared/repos.rs`), so the
//! local-dev runner's in-memory storage behaves like MongoDB, conflicts included.

mod blocks;
mod chatbots;
mod chatrooms;
mod memory;
mod messages;
mod mongo;
mod roles;
mod sessions;
mod tenants;
mod users;

use std::sync::Arc;

pub use blocks::BlockRepo;
pub use chatbots::ChatbotRepo;
pub use chatrooms::ChatroomRepo;
pub use messages::{Inserted, MessageRepo};
pub use roles::{RolePatch, RoleRepo};
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
}

impl Repos {
    /// Repositories on a MongoDB database (run [`crate::mongo::ensure_indexes`] on it first).
    pub fn mongo(db: &mongodb::Database) -> Self {
        Self {
            tenants: Arc::new(mongo::MongoTenants::new(db)),
            users: Arc::new(mongo::MongoUsers::new(db)),
            roles: Arc::new(mongo::MongoRoles::new(db)),
            sessions: Arc::new(mongo::MongoSessions::new(db)),
            chatbots: Arc::new(mongo::MongoChatbots::new(db)),
            chatrooms: Arc::new(mongo::MongoChatrooms::new(db)),
            messages: Arc::new(mongo::MongoMessages::new(db)),
            blocks: Arc::new(mongo::MongoBlocks::new(db)),
        }
    }

    /// Repositories in process memory, for the embedded default and fast unit tests.
    pub fn memory() -> Self {
        Self {
            tenants: Arc::new(memory::MemoryTenants::default()),
            users: Arc::new(memory::MemoryUsers::default()),
            roles: Arc::new(memory::MemoryRoles::default()),
            sessions: Arc::new(memory::MemorySessions::default()),
            chatbots: Arc::new(memory::MemoryChatbots::default()),
            chatrooms: Arc::new(memory::MemoryChatrooms::default()),
            messages: Arc::new(memory::MemoryMessages::default()),
            blocks: Arc::new(memory::MemoryBlocks::default()),
        }
    }
}
