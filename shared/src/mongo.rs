//! The MongoDB connection and Parley's indexes.
//!
//! Parley runs on MongoDB and on FerretDB (the tests use FerretDB on PostgreSQL, or on SQLite), so
//! it uses only what both offer: unique indexes and single-document writes; no multi-document
//! transactions, change streams or TTL indexes. FerretDB 1.24 does not even make a conditional
//! update atomic (it reads, then writes the whole document back), so where many writers race,
//! an insert under a unique key decides (see `repos/chatrooms/mongo.rs`).

use std::time::Duration;

use mongodb::{
    Client, Database, IndexModel,
    bson::{Document, doc},
    error::{ErrorKind, WriteFailure},
    options::{ClientOptions, IndexOptions},
};
use secrecy::ExposeSecret;

use crate::{config::MongoConfig, error::ServiceError, repos::RepoError};

/// How long a call waits for a reachable server before it fails: long enough for a replica-set
/// election, short enough that a binary with a wrong URL exits in seconds.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects, checks the server answers `ping`, and returns the configured database.
/// Fails with a [`ServiceError`] naming MongoDB and its address (never the URL, which may hold a
/// password).
pub async fn connect(config: &MongoConfig) -> Result<Database, ServiceError> {
    let mut options = ClientOptions::parse(config.url.expose_secret()).await.map_err(|_| {
        ServiceError::misconfigured("MongoDB", "PARLEY_MONGODB_URL is not a valid MongoDB connection string")
    })?;
    options.app_name = Some("parley".into());
    options.server_selection_timeout = Some(SERVER_SELECTION_TIMEOUT);
    options.connect_timeout = Some(Duration::from_secs(3));
    let address = options.hosts.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let unreachable = |err: mongodb::error::Error| ServiceError::unreachable("MongoDB", &address, describe(&err));

    let client = Client::with_options(options).map_err(unreachable)?;
    let db = client.database(&config.database);
    db.run_command(doc! { "ping": 1 }).await.map_err(unreachable)?;
    Ok(db)
}

/// Connects and creates Parley's indexes: what every binary that stores data does at start-up.
pub async fn open(config: &MongoConfig) -> Result<Database, ServiceError> {
    let db = connect(config).await?;
    ensure_indexes(&db)
        .await
        .map_err(|e| ServiceError::misconfigured("MongoDB", format!("could not create Parley's indexes: {e}")))?;
    Ok(db)
}

/// A database name MongoDB accepts.
pub fn validate_database_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 || name.chars().any(|c| "/\\. \"$*<>:|?".contains(c) || c.is_control()) {
        return Err(format!("not a valid database name (got {name:?})"));
    }
    Ok(())
}

/// Creates every index Parley relies on: the repositories' (each aggregate's own, in
/// `repos/<aggregate>/mongo.rs`) and the outbox's. Idempotent: run at start-up and in every test
/// database. (The analytics function creates the indexes only its queries need at its own start.)
pub async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    crate::repos::ensure_indexes(db).await?;
    crate::events::ensure_outbox_indexes(db).await
}

/// An index on `keys` named `name`.
pub fn index(keys: Document, name: &str) -> IndexModel {
    IndexModel::builder().keys(keys).options(IndexOptions::builder().name(name.to_owned()).build()).build()
}

/// A unique index on `keys` named `name`.
pub fn unique_index(keys: Document, name: &str) -> IndexModel {
    IndexModel::builder().keys(keys).options(IndexOptions::builder().name(name.to_owned()).unique(true).build()).build()
}

/// Creates `indexes` on `collection` if they do not exist, one command each: FerretDB 1.24
/// panics when one `createIndexes` names several indexes of which some already exist.
pub async fn create_indexes(db: &Database, collection: &str, indexes: Vec<IndexModel>) -> Result<(), RepoError> {
    for model in indexes {
        db.collection::<Document>(collection).create_index(model).await.map_err(classify)?;
    }
    Ok(())
}

/// Whether a write failed on a unique index.
///
/// MongoDB answers code 11000. FerretDB 1.24 does too for inserts, but a `findAndModify` that
/// breaks a unique index comes back as InternalError (code 1) carrying its backend's words
/// (SQLite's "UNIQUE constraint failed", PostgreSQL's "duplicate key value violates unique
/// constraint"); all mean the same to Parley.
pub fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    const INTERNAL_ERROR: i32 = 1;
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::Command(e) => {
            e.code == DUPLICATE_KEY
                || (e.code == INTERNAL_ERROR
                    && (e.message.contains("UNIQUE constraint failed")
                        || e.message.contains("duplicate key value violates unique constraint")))
        }
        ErrorKind::InsertMany(e) => e.write_errors.iter().flatten().any(|e| e.code == DUPLICATE_KEY),
        _ => false,
    }
}

/// The server's code for a write refused by a unique index.
pub const DUPLICATE_KEY: i32 = 11000;

/// Sorts a driver error into the repository's kinds: unreachable (503) or internal (500).
/// Callers check [`is_duplicate_key`] first where a conflict is possible.
pub fn classify(err: mongodb::error::Error) -> RepoError {
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { .. } | ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. } => {
            RepoError::Unavailable(anyhow::anyhow!("MongoDB: {}", describe(&err)))
        }
        _ => RepoError::Internal(anyhow::Error::new(err)),
    }
}

/// A one-line description of a driver error. Server-selection errors carry the whole topology;
/// the first server error is what a person needs.
fn describe(err: &mongodb::error::Error) -> String {
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { message, .. } => {
            let cause = message
                .split("Error: Kind: ")
                .nth(1)
                .map(|rest| rest.split(", labels").next().unwrap_or(rest).trim().to_owned());
            match cause {
                Some(cause) => format!("{cause} (no server answered within {}s)", SERVER_SELECTION_TIMEOUT.as_secs()),
                None => format!("no server answered within {}s", SERVER_SELECTION_TIMEOUT.as_secs()),
            }
        }
        _ => err.kind.to_string(),
    }
}
