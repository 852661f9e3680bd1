//! Where daily reports are kept: `usageReports`, one document per (tenantId, date), unique.
//!
//! The job replaces a day's report each time it computes it again (an upsert on the unique
//! key), so running it twice, or on two processes at once, leaves one report per day.

use futures::TryStreamExt as _;
use mongodb::{
    Collection, Database, IndexModel,
    bson::doc,
    options::{IndexOptions, ReplaceOptions},
};
use shared::{domain::TenantId, repos::RepoError};

use super::DailyReport;

#[derive(Clone)]
pub struct ReportStore {
    collection: Collection<DailyReport>,
}

impl ReportStore {
    pub fn new(db: &Database) -> Self {
        Self { collection: db.collection("usageReports") }
    }

    pub async fn ensure_indexes(&self) -> Result<(), mongodb::error::Error> {
        let unique = IndexOptions::builder().name("tenant_date_unique".to_owned()).unique(true).build();
        let index = IndexModel::builder().keys(doc! { "tenantId": 1, "date": 1 }).options(unique).build();
        self.collection.create_index(index).await.map(drop)
    }

    /// Stores `report` in place of the tenant's report of that day, if any.
    pub async fn put(&self, report: &DailyReport) -> Result<(), RepoError> {
        let filter = doc! { "tenantId": report.tenant_id.to_string(), "date": &report.date };
        let upsert = ReplaceOptions::builder().upsert(true).build();
        match self.collection.replace_one(filter.clone(), report).with_options(upsert.clone()).await {
            Ok(_) => Ok(()),
            // Two writers inserted the same day at once: the loser replaces the winner's.
            Err(err) if shared::mongo::is_duplicate_key(&err) => {
                self.collection.replace_one(filter, report).with_options(upsert).await.map(drop).map_err(internal)
            }
            Err(err) => Err(internal(err)),
        }
    }

    /// The tenant's reports from `from` to `to` (both `YYYY-MM-DD`, included), oldest first.
    pub async fn list(&self, tenant: &TenantId, from: &str, to: &str) -> Result<Vec<DailyReport>, RepoError> {
        let filter = doc! { "tenantId": tenant.to_string(), "date": { "$gte": from, "$lte": to } };
        let found = self.collection.find(filter).sort(doc! { "date": 1 }).await.map_err(internal)?;
        found.try_collect().await.map_err(internal)
    }
}

fn internal(err: mongodb::error::Error) -> RepoError {
    RepoError::Internal(err.into())
}
