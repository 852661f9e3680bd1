//! Tinybird's pipes against a real run. Tinybird cannot be reached from here: the events stream
//! into the local stand-in `scripts/test` starts (Tinybird's own template engine over chDB, an
//! embedded ClickHouse), and the console's routes read its pipes. What they answer must equal
//! what MongoDB's reports say about the same chatrooms: counts equal, medians and p90s equal to
//! the millisecond.

use std::collections::BTreeMap;

use analytics::reports::Timings;
use serde_json::{Value, json};
use shared::testing::{TinybirdStandIn, random_string};

use crate::{story::*, support::*};

const SITE: &str = "https://shop.example.com";
const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
                      Version/18.1 Mobile/15E148 Safari/604.1";
const CHROME: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";

/// A chatbot of the tenant; answers its id and API key.
async fn chatbot(runner: &Runner, admin: &str, name: &str) -> (String, String) {
    let (status, created) =
        post(&runner.url("/api/chatbots/chatbots"), Some(admin), json!({"name": name, "allowedOrigins": [SITE]})).await;
    assert_eq!(status, 201, "{created}");
    (created["chatbot"]["id"].as_str().unwrap().to_owned(), created["apiKey"].as_str().unwrap().to_owned())
}

/// A visitor opens a conversation from `user_agent` and stays on the WebSocket.
async fn visitor(runner: &Runner, tenant: &str, api_key: &str, user_agent: &str) -> (String, Client) {
    let suffix = random_string(6).to_lowercase();
    let session =
        json!({"tenantId": tenant, "apiKey": api_key, "name": "Val", "email": format!("val-{suffix}@example.net")});
    let session = open_session(runner, SITE, Some(user_agent), &session).await;
    let room = session["chatroomId"].as_str().unwrap().to_owned();
    let (client, _) = Client::authenticated(&runner.ws_url(), session["token"].as_str().unwrap()).await;
    (room, client)
}

/// The agent behind `console` takes `room`.
async fn join(console: &mut Client, room: &str) {
    console.send(json!({"type": "join", "chatroomId": room})).await;
    console.next_where("chatroom", |c| c["chatroomId"] == room && c["status"] == "active").await;
}

/// The report's timings, as the API writes them.
fn timings(value: &Value) -> Timings {
    serde_json::from_value(value.clone()).expect("timings")
}

/// The timings of durations in seconds (to the millisecond), as the reports compute them.
fn timings_of(secs: impl Iterator<Item = f64>) -> Timings {
    Timings::of(secs.map(|s| (s * 1000.0).round() as i64).collect())
}

#[tokio::test]
async fn the_pipes_on_the_chdb_tinybird_stand_in_agree_with_the_mongodb_reports_of_a_real_run() {
    let stand_in = TinybirdStandIn::from_env();
    let services = Services::new().await;
    let data_dir = std::env::temp_dir().join(format!("parley-live-{}", random_string(10)));
    let mut env = services.env(&data_dir);
    env.extend(stand_in.env(&format!("test-tinybird-{}", random_string(8))));
    env.push(("PARLEY_REPORT_INTERVAL_SECS", "1".to_owned()));
    let runner = Runner::start(env).await;
    let line = runner.banner.iter().find(|l| l.contains("tinybird")).cloned().unwrap_or_default();
    assert!(line.contains("live charts"), "{:?}", runner.banner);

    // The story: Vera on the Support chatbot, answered by Grace. Then more visitors on two more
    // chatbots, from several browsers: Ada and Grace take some and answer some; one waits.
    let told = story(&runner).await;
    let admin = login(&runner, &told.admin_email, &told.admin_password).await;
    let grace = login(&runner, &told.agent_email, &told.agent_password).await;
    let (_, tenant) = get(&runner.url("/api/tenant/tenant"), Some(&admin)).await;
    let tenant = tenant["id"].as_str().unwrap().to_owned();
    let (_, sales) = chatbot(&runner, &admin, "Sales").await;
    let (_, billing) = chatbot(&runner, &admin, "Billing").await;
    let (mut ada_console, _) = Client::authenticated(&runner.ws_url(), &admin).await;
    let (mut grace_console, _) = Client::authenticated(&runner.ws_url(), &grace).await;

    let (second, mut second_visitor) = visitor(&runner, &tenant, &sales, FIREFOX).await;
    let (third, mut third_visitor) = visitor(&runner, &tenant, &sales, SAFARI).await;
    let (_fourth, _waiting) = visitor(&runner, &tenant, &billing, CHROME).await;
    let (fifth, mut fifth_visitor) = visitor(&runner, &tenant, &billing, FIREFOX).await;
    join(&mut ada_console, &second).await;
    second_visitor.say(&second, "Do you ship to Norway?").await;
    ada_console.say(&second, "We do, in 3 to 5 days.").await;
    join(&mut grace_console, &third).await;
    third_visitor.say(&third, "Hello?").await;
    fifth_visitor.say(&fifth, "Can I pay by invoice?").await;
    join(&mut ada_console, &fifth).await;
    ada_console.say(&fifth, "Yes, from your second order.").await;

    // MongoDB's report of today, once the job has counted all five chatrooms and every reply.
    let report = eventually(WAIT, "today's report counting the run", || async {
        let (_, reports) = get(&runner.url("/api/analytics/reports"), Some(&admin)).await;
        let today = reports["days"].as_array()?.last()?.clone();
        (today["chatrooms"] == 5 && today["firstResponse"]["count"] == 3 && today["timeToAssignment"]["count"] == 4)
            .then_some(today)
    })
    .await;
    let (_, rooms) = get(&runner.url("/api/analytics/reports/chatrooms"), Some(&admin)).await;
    let rooms = rooms["chatrooms"].as_array().unwrap().clone();
    assert_eq!(rooms.len(), 5);

    // The same figures from Tinybird's pipes, once every event has streamed there.
    let messages = &report["messages"];
    let live = |path: &'static str| {
        let (url, admin) = (runner.url(&format!("/api/analytics/live/{path}")), admin.clone());
        async move {
            let (status, body) = get(&url, Some(&admin)).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let activity = eventually(WAIT, "every message in the activity pipe", || async {
        let activity = live("activity").await;
        let total = |field: &str| {
            activity["minutes"].as_array().unwrap().iter().map(|m| m[field].as_u64().unwrap()).sum::<u64>()
        };
        (total("chatrooms") == 5
            && total("visitorMessages") == messages["visitor"].as_u64().unwrap()
            && total("agentMessages") == messages["agent"].as_u64().unwrap())
        .then_some(activity)
    })
    .await;
    assert!(!activity["minutes"].as_array().unwrap().is_empty());
    let times = eventually(WAIT, "every assignment and reply in the response-times pipe", || async {
        let times = live("response-times").await;
        (times["tenant"]["wait"]["count"] == 4 && times["tenant"]["firstResponse"]["count"] == 3).then_some(times)
    })
    .await;

    // The tenant: the report's time to assignment and first response, to the millisecond.
    assert_eq!(times["tenant"]["chatrooms"], 5);
    assert_eq!(timings(&times["tenant"]["wait"]), timings(&report["timeToAssignment"]), "{times}");
    assert_eq!(timings(&times["tenant"]["firstResponse"]), timings(&report["firstResponse"]), "{times}");

    // Per chatbot: what MongoDB's chatroom rows give for the chatbot's chatrooms.
    let mut by_chatbot: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for room in &rooms {
        by_chatbot.entry(room["chatbotId"].as_str().unwrap().to_owned()).or_default().push(room);
    }
    let chatbots = times["chatbots"].as_array().unwrap();
    assert_eq!(chatbots.len(), 3, "{times}");
    for figures in chatbots {
        let rooms = &by_chatbot[figures["id"].as_str().unwrap()];
        assert_eq!(figures["chatrooms"].as_u64(), Some(rooms.len() as u64), "{figures}");
        let wait = timings_of(rooms.iter().filter_map(|r| r["assignmentSecs"].as_f64()));
        let first = timings_of(rooms.iter().filter_map(|r| r["firstResponseSecs"].as_f64()));
        assert_eq!((timings(&figures["wait"]), timings(&figures["firstResponse"])), (wait, first), "{figures}");
    }
    let names: Vec<&str> = chatbots.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["Billing", "Sales", "Support"]);

    // Per agent: the report's chatrooms held and first response of each agent.
    let agents = times["agents"].as_array().unwrap();
    let reported = report["agents"].as_array().unwrap();
    assert_eq!(agents.len(), reported.len(), "{times} against {report}");
    for load in reported {
        let figures = agents.iter().find(|a| a["id"] == load["agentId"]).expect("the agent in both");
        assert_eq!((&figures["name"], &figures["chatrooms"]), (&load["name"], &load["chatrooms"]), "{figures}");
        assert_eq!(timings(&figures["firstResponse"]), timings(&load["firstResponse"]), "{figures} against {load}");
    }

    // The distribution counts each chatroom's wait and first response in its band.
    let distribution = live("response-time-distribution").await;
    for band in distribution["bands"].as_array().unwrap() {
        let lower = band["lowerSecs"].as_f64().unwrap();
        let upper = band["upperSecs"].as_f64().unwrap_or(f64::INFINITY);
        let within = |field: &str| {
            rooms.iter().filter_map(|r| r[field].as_f64()).filter(|s| (lower..upper).contains(s)).count() as u64
        };
        assert_eq!(band["waits"].as_u64(), Some(within("assignmentSecs")), "{band}");
        assert_eq!(band["firstResponses"].as_u64(), Some(within("firstResponseSecs")), "{band}");
    }

    // Browsers: the families the visitors' user agents name.
    let browsers = live("browsers").await;
    let counted: BTreeMap<String, u64> = browsers["browsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                format!("{} on {}", b["browser"].as_str().unwrap(), b["os"].as_str().unwrap()),
                b["chatrooms"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, u64> =
        [("Chrome on macOS", 1), ("Firefox on Windows", 2), ("Safari on iOS", 1), ("other on other", 1)]
            .map(|(k, v)| (k.to_owned(), v))
            .into();
    assert_eq!(counted, expected);

    assert!(runner.interrupt().await);
    std::fs::remove_dir_all(&data_dir).ok();
}
