//! The report job: for every tenant, computes again the reports of the last
//! `PARLEY_REPORT_DAYS` days (today included) and stores them. Self-hosted a timer runs it every
//! `PARLEY_REPORT_INTERVAL_SECS`; on Lambda an EventBridge schedule invokes the `reports` role.

use std::time::Duration;

use serde::Serialize;
use shared::{
    domain::{TenantId, Timestamp},
    repos::RepoError,
};
use time::Date;
use tokio::sync::watch;

use super::{compute, day_bounds};
use crate::AppState;

/// Tenants are visited this many at a time.
const TENANT_PAGE: u32 = 100;
/// The most chatrooms one tenant's day may hold; a busier day fails loudly rather than count
/// part of it.
const DAY_CHATROOM_LIMIT: u32 = 200_000;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub tenants: u64,
    pub reports: u64,
    pub failed: u64,
}

/// Computes and stores the reports of the `days` days ending with `today`, for every tenant. A
/// tenant whose report fails is logged and counted, and the run goes on with the others.
pub async fn run_once(state: &AppState, today: Date, days: u32) -> Result<RunSummary, RepoError> {
    let mut summary = RunSummary::default();
    let mut after: Option<TenantId> = None;
    loop {
        let page = state.source.list_tenant_ids(after.as_ref(), TENANT_PAGE).await?;
        let Some(last) = page.last().copied() else { break };
        for tenant in page {
            summary.tenants += 1;
            for back in (0..days).rev() {
                let Some(day) = today.checked_sub(time::Duration::days(i64::from(back))) else { continue };
                match report_day(state, tenant, day).await {
                    Ok(()) => summary.reports += 1,
                    Err(err) => {
                        summary.failed += 1;
                        tracing::error!(error = %err, tenant_id = %tenant, day = %day, "usage report not computed");
                    }
                }
            }
        }
        after = Some(last);
    }
    Ok(summary)
}

/// Computes and stores one tenant's report of one day.
pub async fn report_day(state: &AppState, tenant: TenantId, day: Date) -> Result<(), RepoError> {
    let (start, end) = day_bounds(day);
    let chatrooms = state.source.list_chatrooms_created_between(&tenant, start, end, DAY_CHATROOM_LIMIT + 1).await?;
    if chatrooms.len() > DAY_CHATROOM_LIMIT as usize {
        return Err(RepoError::Internal(anyhow::anyhow!("more than {DAY_CHATROOM_LIMIT} chatrooms in one day")));
    }
    let messages = state.source.list_messages_sent_between(&tenant, start, end).await?;
    let report = compute(tenant, day, &chatrooms, &messages, Timestamp::now());
    state.reports.put(&report).await
}

/// Today, in UTC.
pub fn today() -> Date {
    Timestamp::now().as_offset_date_time().date()
}

/// Runs the job every `interval` until `shutdown` turns true; the first run starts at once.
pub async fn run_every(state: AppState, interval: Duration, days: u32, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
        match run_once(&state, today(), days).await {
            Ok(summary) => tracing::info!(
                tenants = summary.tenants,
                reports = summary.reports,
                failed = summary.failed,
                "usage reports computed"
            ),
            Err(err) => tracing::error!(error = %err, "usage report run failed"),
        }
    }
}

/// Runs the job on Lambda, once per invocation (an EventBridge schedule; the event's content
/// does not matter), answering the run's summary.
pub async fn run_on_lambda(state: AppState, days: u32) -> Result<(), lambda_runtime::Error> {
    let state = &state;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            run_once(state, today(), days).await.map_err(|err| lambda_runtime::Diagnostic {
                error_type: "ReportRunFailed".into(),
                error_message: err.to_string(),
            })
        },
    ))
    .await
}
