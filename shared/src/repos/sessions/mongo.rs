//! Sessions in `sessions`.

use async_trait::async_trait;
use mongodb::{Collection, Database, bson::doc};

use super::{Rotation, SessionRepo};
use crate::{
    domain::{Session, SessionId, TenantId, Timestamp, UserId},
    mongo::{classify, create_indexes, index},
    repos::RepoError,
};

pub(in crate::repos) async fn ensure_indexes(db: &Database) -> Result<(), RepoError> {
    create_indexes(db, "sessions", vec![index(doc! { "tenantId": 1, "userId": 1 }, "tenant_user")]).await
}

pub(in crate::repos) struct MongoSessions {
    collection: Collection<Session>,
}

impl MongoSessions {
    pub(in crate::repos) fn new(db: &Database) -> Self {
        Self { collection: db.collection("sessions") }
    }
}

#[async_trait]
impl SessionRepo for MongoSessions {
    async fn insert(&self, session: &Session) -> Result<(), RepoError> {
        self.collection.insert_one(session).await.map_err(classify)?;
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, RepoError> {
        self.collection.find_one(doc! { "_id": id.to_string() }).await.map_err(classify)
    }

    async fn rotate(&self, session: &Session, rotation: &Rotation) -> Result<bool, RepoError> {
        let filter = doc! { "_id": session.id.to_string(), "hash": &rotation.old_hash };
        let set = doc! {
            "hash": &rotation.new_hash,
            "expiresAt": rotation.expires_at,
            "rotatedHashes": session.rotated_after(),
            "ip": &rotation.ip,
            "lastUsedAt": Timestamp::now(),
        };
        let result = self.collection.update_one(filter, doc! { "$set": set }).await.map_err(classify)?;
        Ok(result.modified_count == 1)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), RepoError> {
        self.collection.delete_one(doc! { "_id": id.to_string() }).await.map_err(classify)?;
        Ok(())
    }

    async fn delete_for_user(&self, tenant: &TenantId, user: &UserId) -> Result<(), RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "userId": user.to_string() };
        self.collection.delete_many(filter).await.map_err(classify)?;
        Ok(())
    }

    async fn delete_expired_for_user(&self, tenant: &TenantId, user: &UserId, now: Timestamp) -> Result<(), RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "userId": user.to_string(), "expiresAt": { "$lt": now } };
        self.collection.delete_many(filter).await.map_err(classify)?;
        Ok(())
    }
}
