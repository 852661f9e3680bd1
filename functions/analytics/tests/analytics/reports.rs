//! Usage reports from seeded chatrooms and messages with known timestamps: every figure checked
//! exactly, as JSON and as CSV, per day, per agent and per chatroom.

use std::time::Duration;

use serde_json::{Value, json};
use shared::domain::{CloseReason, Permission, SenderKind::*, TenantId};
use time::macros::date;

use crate::support::*;

/// The day the seeded story happens on.
const DAY: &str = "2026-11-20";

struct Seeded {
    tenant: TenantId,
    other: TenantId,
    ada: shared::domain::AssignedAgent,
    bob: shared::domain::AssignedAgent,
    rooms: Vec<shared::domain::Chatroom>,
}

/// One day of a support team (see each line), a chatroom the evening before, one the next
/// midnight, and another tenant's chatroom the same day.
async fn seed(app: &TestApp) -> Seeded {
    let r = &app.repos;
    let tenant = app.tenant("Acme").await.id;
    let other = app.tenant("Other").await.id;
    let (ada, bob) = (agent("Ada"), agent("Bob"));
    let mut rooms = Vec::new();
    // The evening before: Bob's chatroom, whose last message comes after midnight.
    let r0 = chatroom(
        r,
        &tenant,
        "2026-11-19T23:00:00Z",
        Story { agent: Some(bob.clone()), first_reply: Some("2026-11-19T23:02:00Z"), messages: 2, ..Story::default() },
    )
    .await;
    message(r, &r0, 1, "2026-11-19T23:00:05Z", System, None).await;
    message(r, &r0, 2, "2026-11-20T00:30:00Z", Agent, Some(&bob)).await;
    // 09:00 Ada takes it after 20 s, answers in 30 s and closes after 10 min.
    let r1 = chatroom(
        r,
        &tenant,
        "2026-11-20T09:00:00Z",
        Story {
            agent: Some(ada.clone()),
            assigned: Some("2026-11-20T09:00:20Z"),
            first_reply: Some("2026-11-20T09:00:30Z"),
            ended: Some(("2026-11-20T09:10:00Z", CloseReason::ClosedByAgent)),
            visitor_name: Some("=HYPERLINK(\"http://evil\")"),
            messages: 4,
        },
    )
    .await;
    message(r, &r1, 1, "2026-11-20T09:00:00Z", System, None).await;
    message(r, &r1, 2, "2026-11-20T09:00:10Z", Visitor, None).await;
    message(r, &r1, 3, "2026-11-20T09:00:30Z", Agent, Some(&ada)).await;
    message(r, &r1, 4, "2026-11-20T09:05:00Z", Visitor, None).await;
    // 09:30 Ada takes it after 40 s, answers in 60 s and marks it stale after 30 min.
    let r2 = chatroom(
        r,
        &tenant,
        "2026-11-20T09:30:00Z",
        Story {
            agent: Some(ada.clone()),
            assigned: Some("2026-11-20T09:30:40Z"),
            first_reply: Some("2026-11-20T09:31:00Z"),
            ended: Some(("2026-11-20T10:00:00Z", CloseReason::MarkedStale)),
            messages: 2,
            ..Story::default()
        },
    )
    .await;
    message(r, &r2, 1, "2026-11-20T09:30:00Z", System, None).await;
    message(r, &r2, 2, "2026-11-20T09:31:00Z", Agent, Some(&ada)).await;
    // 14:15 Bob takes it after 30 s and answers in 2 min; still going.
    let r3 = chatroom(
        r,
        &tenant,
        "2026-11-20T14:15:00Z",
        Story {
            agent: Some(bob.clone()),
            assigned: Some("2026-11-20T14:15:30Z"),
            first_reply: Some("2026-11-20T14:17:00Z"),
            messages: 3,
            ..Story::default()
        },
    )
    .await;
    message(r, &r3, 1, "2026-11-20T14:15:00Z", System, None).await;
    message(r, &r3, 2, "2026-11-20T14:17:00Z", Agent, Some(&bob)).await;
    message(r, &r3, 3, "2026-11-20T14:18:00Z", Visitor, None).await;
    // 14:45 nobody joins; the visitor leaves at 15:00.
    let r4 = chatroom(
        r,
        &tenant,
        "2026-11-20T14:45:00Z",
        Story { ended: Some(("2026-11-20T15:00:00Z", CloseReason::VisitorLeft)), ..Story::default() },
    )
    .await;
    // 23:59:59 still waiting.
    let r5 = chatroom(r, &tenant, "2026-11-20T23:59:59Z", Story::default()).await;
    // The next midnight belongs to the next day.
    let r6 = chatroom(r, &tenant, "2026-11-21T00:00:00Z", Story { messages: 1, ..Story::default() }).await;
    message(r, &r6, 1, "2026-11-21T00:00:00Z", System, None).await;
    chatroom(r, &other, "2026-11-20T12:00:00Z", Story::default()).await;
    rooms.extend([r0, r1, r2, r3, r4, r5, r6]);
    Seeded { tenant, other, ada, bob, rooms }
}

fn hour(hour: u64, chatrooms: u64, messages: u64) -> Value {
    json!({"hour": hour, "chatrooms": chatrooms, "messages": messages})
}

/// The hours of the seeded day: 24 entries, four of them busy.
fn seeded_hours() -> Vec<Value> {
    (0..24)
        .map(|h| match h {
            0 => hour(0, 0, 1),
            9 => hour(9, 2, 6),
            14 => hour(14, 2, 3),
            23 => hour(23, 1, 0),
            _ => hour(h, 0, 0),
        })
        .collect()
}

#[tokio::test]
async fn a_days_report_counts_every_figure_exactly() {
    let app = spawn_app().await;
    let s = seed(&app).await;
    let run = analytics::reports::job::run_once(&app.state, date!(2026 - 11 - 21), 3).await.unwrap();
    assert_eq!((run.tenants, run.reports, run.failed), (2, 6, 0));

    let body =
        expect_status(app.api.get(&format!("/reports?from={DAY}&to={DAY}"), bearer(&app.viewer(&s.tenant))).await, 200)
            .await;
    assert_eq!((body["from"].as_str(), body["to"].as_str()), (Some(DAY), Some(DAY)));
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 1);
    let mut day = days[0].clone();
    assert!(day.as_object_mut().unwrap().remove("computedAt").unwrap().is_string());
    assert_eq!(
        day,
        json!({
            "tenantId": s.tenant.to_string(),
            "date": DAY,
            "chatrooms": 5,
            "messages": {"visitor": 3, "agent": 4, "system": 3},
            "firstResponse": {"count": 3, "medianSecs": 60.0, "p90Secs": 120.0},
            "timeToAssignment": {"count": 3, "medianSecs": 30.0, "p90Secs": 40.0},
            "resolution": {"count": 2, "medianSecs": 1200.0, "p90Secs": 1800.0},
            "abandoned": 1,
            "agents": [
                {"agentId": s.ada.id.to_string(), "name": "Ada", "chatrooms": 2, "messages": 2,
                 "firstResponse": {"count": 2, "medianSecs": 45.0, "p90Secs": 60.0}},
                {"agentId": s.bob.id.to_string(), "name": "Bob", "chatrooms": 1, "messages": 2,
                 "firstResponse": {"count": 1, "medianSecs": 120.0, "p90Secs": 120.0}},
            ],
            "hours": seeded_hours(),
            "busiestHour": 9,
        })
    );
    assert_eq!(
        body["totals"],
        json!({"chatrooms": 5, "messages": {"visitor": 3, "agent": 4, "system": 3}, "abandoned": 1})
    );

    // The three days: the evening before holds r0, the next day r6.
    let range =
        expect_status(app.api.get("/reports?from=2026-11-19&to=2026-11-21", bearer(&app.viewer(&s.tenant))).await, 200)
            .await;
    let figures: Vec<(String, u64, u64)> = range["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["chatrooms"].as_u64().unwrap(),
                d["messages"]["system"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(figures, [("2026-11-19".into(), 1, 1), (DAY.into(), 5, 3), ("2026-11-21".into(), 1, 1)]);
    assert_eq!(range["totals"]["chatrooms"], 7);

    // The other tenant sees its own day only.
    let theirs =
        expect_status(app.api.get(&format!("/reports?from={DAY}&to={DAY}"), bearer(&app.viewer(&s.other))).await, 200)
            .await;
    assert_eq!(theirs["days"][0]["chatrooms"], 1);
    assert_eq!(theirs["days"][0]["agents"], json!([]));
}

#[tokio::test]
async fn the_reports_come_as_csv_too() {
    let app = spawn_app().await;
    let s = seed(&app).await;
    analytics::reports::job::run_once(&app.state, date!(2026 - 11 - 20), 1).await.unwrap();
    let viewer = app.viewer(&s.tenant);

    let response = app.api.get(&format!("/reports?from={DAY}&to={DAY}&format=csv"), bearer(&viewer)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"parley-reports-2026-11-20-to-2026-11-20.csv\""
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "date,chatrooms,visitor_messages,agent_messages,system_messages,first_response_median_secs,first_response_p90_secs,assignment_median_secs,assignment_p90_secs,resolution_median_secs,resolution_p90_secs,abandoned,busiest_hour,computed_at"
    );
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(row[..13], ["2026-11-20", "5", "3", "4", "3", "60", "120", "30", "40", "1200", "1800", "1", "9"]);
    assert_eq!(lines[2..], [""], "one row and a final line end");

    let agents = app.api.get(&format!("/reports/agents?from={DAY}&to={DAY}&format=csv"), bearer(&viewer)).await;
    let agents = agents.text().await.unwrap();
    assert_eq!(
        agents,
        format!(
            "date,agent_id,agent_name,chatrooms,messages,first_response_median_secs\r\n\
             2026-11-20,{},Ada,2,2,45\r\n2026-11-20,{},Bob,1,2,120\r\n",
            s.ada.id, s.bob.id
        )
    );
    let json_agents =
        expect_status(app.api.get(&format!("/reports/agents?from={DAY}&to={DAY}"), bearer(&viewer)).await, 200).await;
    assert_eq!(
        json_agents["agents"][1],
        json!({"date": DAY, "agentId": s.bob.id.to_string(), "name": "Bob", "chatrooms": 1, "messages": 2, "firstResponseMedianSecs": 120.0})
    );
}

#[tokio::test]
async fn one_row_per_chatroom_with_its_timings() {
    let app = spawn_app().await;
    let s = seed(&app).await;
    let viewer = app.viewer(&s.tenant);
    let body =
        expect_status(app.api.get(&format!("/reports/chatrooms?from={DAY}&to={DAY}"), bearer(&viewer)).await, 200)
            .await;
    let rows = body["chatrooms"].as_array().unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["chatroomId"].as_str().unwrap()).collect();
    let expected: Vec<String> = s.rooms[1..6].iter().map(|r| r.id.to_string()).collect();
    assert_eq!(ids, expected, "the day's five chatrooms, oldest first");
    let r1 = &s.rooms[1];
    assert_eq!(
        rows[0],
        json!({
            "chatroomId": r1.id.to_string(), "chatbotId": r1.chatbot_id.to_string(),
            "createdAt": "2026-11-20T09:00:00Z", "status": "closed", "closeReason": "closed_by_agent",
            "closedAt": "2026-11-20T09:10:00Z", "agentId": s.ada.id.to_string(), "agentName": "Ada",
            "visitorName": "=HYPERLINK(\"http://evil\")", "visitorEmail": r1.email.to_string(),
            "messages": 4, "assignmentSecs": 20.0, "firstResponseSecs": 30.0, "durationSecs": 600.0,
        })
    );
    assert_eq!(
        (rows[3]["status"].as_str(), rows[3]["firstResponseSecs"].as_f64(), rows[3]["durationSecs"].as_f64()),
        (Some("closed"), None, Some(900.0))
    );
    assert_eq!((rows[4]["status"].as_str(), rows[4]["agentId"].is_null()), (Some("waiting"), true));

    let csv = app.api.get(&format!("/reports/chatrooms?from={DAY}&to={DAY}&format=csv"), bearer(&viewer)).await;
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines.len(), 7, "a header, five rows and the final line end");
    assert_eq!(
        lines[1],
        format!(
            "{},{},2026-11-20T09:00:00Z,closed,closed_by_agent,2026-11-20T09:10:00Z,{},Ada,\"'=HYPERLINK(\"\"http://evil\"\")\",{},4,20,30,600",
            r1.id, r1.chatbot_id, s.ada.id, r1.email
        ),
        "the visitor's name cannot run as a formula"
    );
}

#[tokio::test]
async fn running_again_replaces_each_days_report() {
    let app = spawn_app().await;
    let s = seed(&app).await;
    let job = &analytics::reports::job::run_once;
    job(&app.state, date!(2026 - 11 - 20), 2).await.unwrap();
    // A chatroom created that day shows up the next run, in the same report.
    chatroom(&app.repos, &s.tenant, "2026-11-20T18:00:00Z", Story::default()).await;
    let (first, second) =
        tokio::join!(job(&app.state, date!(2026 - 11 - 20), 2), job(&app.state, date!(2026 - 11 - 20), 2));
    assert_eq!((first.unwrap().failed, second.unwrap().failed), (0, 0));
    let body =
        expect_status(app.api.get(&format!("/reports?from={DAY}&to={DAY}"), bearer(&app.viewer(&s.tenant))).await, 200)
            .await;
    assert_eq!(body["days"].as_array().unwrap().len(), 1);
    assert_eq!(body["days"][0]["chatrooms"], 6);
    let stored = app
        .db
        .db
        .collection::<mongodb::bson::Document>("usageReports")
        .count_documents(mongodb::bson::doc! {})
        .await
        .unwrap();
    assert_eq!(stored, 4, "two tenants, two days, one report each");
}

#[tokio::test]
async fn the_self_hosted_timer_computes_todays_reports() {
    let app = spawn_app().await;
    let tenant = app.tenant("Acme").await;
    let now = shared::domain::Timestamp::now().to_rfc3339();
    let now: &'static str = Box::leak(now.into_boxed_str());
    chatroom(&app.repos, &tenant.id, now, Story::default()).await;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let timer =
        tokio::spawn(analytics::reports::job::run_every(app.state.clone(), Duration::from_millis(200), 1, stopping));
    let today = &now[..10];
    let viewer = app.viewer(&tenant.id);
    let report = eventually(Duration::from_secs(15), "today's report", || async {
        let body =
            expect_status(app.api.get(&format!("/reports?from={today}&to={today}"), bearer(&viewer)).await, 200).await;
        body["days"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(report["chatrooms"], 1);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), timer).await.expect("the timer stops").unwrap();
}

#[tokio::test]
async fn bad_ranges_and_callers_are_refused_with_a_code() {
    let app = spawn_app().await;
    let tenant = app.tenant("Acme").await;
    let viewer = app.viewer(&tenant.id);
    for (query, code) in [
        ("from=2026-13-01", "invalid_date"),
        ("to=20261120", "invalid_date"),
        ("from=2026-11-21&to=2026-11-20", "invalid_range"),
        ("from=2024-01-01&to=2026-11-20", "invalid_range"),
        ("format=xml", "invalid_format"),
    ] {
        for path in ["/reports", "/reports/agents", "/reports/chatrooms"] {
            assert_error(app.api.get(&format!("{path}?{query}"), bearer(&viewer)).await, 400, code).await;
        }
    }
    let agent = app.token(&tenant.id, &[Permission::ChatroomsJoin]);
    assert_error(app.api.get("/reports", bearer(&agent)).await, 403, "permission_denied").await;
    assert_error(app.api.get("/reports/chatrooms", anonymous()).await, 401, "missing_token").await;
    // The default range is the last 30 days, and an empty one is still an answer.
    let body = expect_status(app.api.get("/reports", bearer(&viewer)).await, 200).await;
    assert_eq!(body["days"], json!([]));
}
