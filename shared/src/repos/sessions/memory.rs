//! Sessions in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{Rotation, SessionRepo};
use crate::{
    domain::{Session, SessionId, TenantId, Timestamp, UserId},
    repos::RepoError,
};

#[derive(Default)]
pub(in crate::repos) struct MemorySessions {
    rows: Mutex<HashMap<SessionId, Session>>,
}

#[async_trait]
impl SessionRepo for MemorySessions {
    async fn insert(&self, session: &Session) -> Result<(), RepoError> {
        self.rows.lock().unwrap().insert(session.id, session.clone());
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, RepoError> {
        Ok(self.rows.lock().unwrap().get(id).cloned())
    }

    async fn rotate(&self, session: &Session, rotation: &Rotation) -> Result<bool, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let Some(stored) = rows.get_mut(&session.id).filter(|s| s.hash == rotation.old_hash) else { return Ok(false) };
        stored.rotated_hashes = session.rotated_after();
        stored.hash = rotation.new_hash.clone();
        stored.expires_at = rotation.expires_at;
        stored.ip = rotation.ip.clone();
        stored.last_used_at = Timestamp::now();
        Ok(true)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), RepoError> {
        self.rows.lock().unwrap().remove(id);
        Ok(())
    }

    async fn delete_for_user(&self, tenant: &TenantId, user: &UserId) -> Result<(), RepoError> {
        self.rows.lock().unwrap().retain(|_, s| !(s.tenant_id == *tenant && s.user_id == *user));
        Ok(())
    }

    async fn delete_expired_for_user(&self, tenant: &TenantId, user: &UserId, now: Timestamp) -> Result<(), RepoError> {
        self.rows.lock().unwrap().retain(|_, s| !(s.tenant_id == *tenant && s.user_id == *user && s.expires_at < now));
        Ok(())
    }
}
