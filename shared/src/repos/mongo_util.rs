//! What the MongoDB repositories share. Documents are the domain types themselves (camelCase
//! fields, `_id`); every tenant-owned filter starts with `tenantId`.

use futures::TryStreamExt;
use mongodb::{
    Collection,
    bson::{self, Bson, Document, doc},
};
use serde::{Serialize, de::DeserializeOwned};

use super::RepoError;
use crate::{domain::TenantId, mongo::classify};

/// A value exactly as the driver stores it in a document. (`bson::to_bson` serialises "human
/// readable", which would write timestamps as strings rather than dates; the driver's raw
/// serialiser, used here through a one-field wrapper, does not.)
pub(super) fn to_bson(value: &impl Serialize) -> Result<Bson, RepoError> {
    #[derive(Serialize)]
    struct Wrapped<'a, T: Serialize> {
        value: &'a T,
    }
    let raw = bson::to_raw_document_buf(&Wrapped { value }).map_err(|e| RepoError::Internal(e.into()))?;
    let mut document = Document::try_from(raw).map_err(|e| RepoError::Internal(e.into()))?;
    document.remove("value").ok_or_else(|| RepoError::Internal(anyhow::anyhow!("the wrapped value vanished")))
}

/// `{_id, tenantId}`: the filter of every tenant-owned single-row operation.
pub(super) fn owned(tenant: &TenantId, id: impl ToString) -> Document {
    doc! { "tenantId": tenant.to_string(), "_id": id.to_string() }
}

/// The tenant's rows of a collection, oldest first.
pub(super) async fn list_for_tenant<T>(collection: &Collection<T>, tenant: &TenantId) -> Result<Vec<T>, RepoError>
where
    T: DeserializeOwned + Send + Sync,
{
    let cursor = collection
        .find(doc! { "tenantId": tenant.to_string() })
        .sort(doc! { "createdAt": 1, "_id": 1 })
        .await
        .map_err(classify)?;
    cursor.try_collect().await.map_err(classify)
}

/// Deletes one of the tenant's rows, answering `not_found` when there is none.
pub(super) async fn delete_owned<T: Send + Sync>(
    collection: &Collection<T>,
    tenant: &TenantId,
    id: impl ToString,
    not_found: fn() -> RepoError,
) -> Result<(), RepoError> {
    let result = collection.delete_one(owned(tenant, id)).await.map_err(classify)?;
    if result.deleted_count == 0 {
        return Err(not_found());
    }
    Ok(())
}

/// A `limit` as the driver takes it. Zero means "no limit" to MongoDB, so callers answer an empty
/// list for it before asking.
pub(super) fn limit(n: u32) -> i64 {
    i64::from(n)
}
