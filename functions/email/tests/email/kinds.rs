//! Every kind of email, read back from the SMTP server: recipient, sender, subject, escaped body,
//! working links.

use serde_json::json;
use shared::{
    domain::{
        AgentChange, AssignedAgent, Assigning, ChatroomStatus, ClientMsgId, CloseReason, Message, Permission, Sender,
        SenderKind, Timestamp, Transition, UserPatch, UserStatus,
    },
    events::Topic,
    testing::{Api, EventLog, TestRedis, accounts, expect_status, kafka_env, strong_password},
};

use crate::support::*;

const HOSTILE: &str = "<script>alert('x')</script> & \"Vera\"";

fn assert_escaped(mail: &Mail) {
    assert!(!mail.html.contains("<script>"), "markup from input reached the HTML: {}", mail.html);
    assert!(
        mail.html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Vera&quot;"),
        "{}",
        mail.html
    );
}

#[tokio::test]
async fn a_new_chatroom_sends_the_visitor_a_welcome_from_the_tenant() {
    let h = harness().await;
    let tenant = h.tenant("Acme", Some("Acme Help Desk")).await;
    let visitor = unique_email("vera");
    let event = envelope(
        "chatroom.created",
        tenant.id,
        json!({
            "chatroomId": shared::domain::ChatroomId::new(), "chatbotId": shared::domain::ChatbotId::new(),
            "name": HOSTILE, "email": visitor, "identityVerified": false, "visitor": {"ip": "203.0.113.9"},
            "createdAt": Timestamp::now(),
        }),
    );
    let outcome = h.handle(&event).await;
    assert_eq!(outcome.sent(), 1, "{outcome:?}");

    let mail = h.mailbox.wait_for(&visitor).await;
    assert_eq!(mail.from, ("Acme Help Desk".to_owned(), FROM.to_owned()));
    assert_eq!(mail.to, [visitor.as_str()]);
    assert_eq!(mail.reply_to, [REPLY_TO]);
    assert_eq!(mail.subject, "Thanks for contacting Acme Help Desk");
    assert!(mail.text.contains(&format!("Hi {HOSTILE},")), "the text part says what was typed: {}", mail.text);
    assert!(mail.text.contains("A live agent will join your chat shortly"), "{}", mail.text);
    assert_escaped(&mail);

    // Without a sender name, the tenant's name.
    let plain = h.tenant("Globex", None).await;
    let other = unique_email("otto");
    let event = envelope("chatroom.created", plain.id, created_data(&"Otto", &other));
    h.handle(&event).await;
    let mail = h.mailbox.wait_for(&other).await;
    assert_eq!((mail.from.0.as_str(), mail.subject.as_str()), ("Globex", "Thanks for contacting Globex"));
}

#[tokio::test]
async fn line_breaks_in_names_never_reach_the_headers() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let (visitor, spy) = (unique_email("vera"), unique_email("spy"));
    let name = format!("Vera\r\nBcc: {spy}\r\nSubject: pwned");
    // A visitor's name never holds a control character (`Name`), so such an event is unusable:
    // dead-lettered, and mailed to nobody.
    let event = envelope("chatroom.created", tenant.id, created_data(&name, &visitor));
    assert!(matches!(h.handle(&event).await, Outcome::Malformed { .. }));
    // What a name may hold reaches the To header on one line.
    let event = envelope("chatroom.created", tenant.id, created_data(&"Vera Bcc: x", &visitor));
    h.handle(&event).await;
    let mail = h.mailbox.wait_for(&visitor).await;
    assert_eq!(mail.to, [visitor.as_str()]);
    assert!(mail.header("Bcc").is_empty(), "{:?}", mail.headers);
    assert_eq!(mail.header("Subject"), ["Thanks for contacting Acme"]);
    let to = mail.header("To");
    assert!(to.len() == 1 && !to[0].contains(['\r', '\n']), "one To header on one line: {to:?}");
    assert!(h.mailbox.to(&spy).await.is_empty(), "nobody else got it");
    assert_eq!(h.mailbox.to(&visitor).await.len(), 1, "one welcome, for the usable event");
}

#[tokio::test]
async fn a_requested_transcript_reaches_the_visitor_when_the_chatroom_closes() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let room = h.waiting_room(&tenant, "Vera", 1_000).await;
    let repos = h.repos();
    let agent = AssignedAgent {
        id: shared::domain::UserId::new(),
        name: "Ada".into(),
        email: unique_email("ada").parse().unwrap(),
    };
    let claim = Transition { agent: AgentChange::Set(agent.clone()), ..Transition::to(ChatroomStatus::Active) };
    repos.chatrooms.transition(&tenant.id, &room.id, &[ChatroomStatus::Waiting], None, &claim).await.unwrap().unwrap();
    let lines = [
        (SenderKind::System, "Parley", "Hi! A live agent will join shortly."),
        (SenderKind::Visitor, "Vera", HOSTILE),
        (SenderKind::Agent, "Ada", "Happy to help:\nfirst, this"),
        (SenderKind::Visitor, "Vera", "thanks!"),
    ];
    for (seq, (kind, who, text)) in (1..).zip(lines) {
        let sender = Sender { kind, id: None, name: who.into() };
        let message =
            Message::new(tenant.id, room.id, seq, ClientMsgId::system(), sender, text.into(), Timestamp::now());
        repos.messages.insert(&message).await.unwrap();
        repos.chatrooms.raise_last_seq(&tenant.id, &room.id, seq, message.sent_at).await.unwrap();
    }
    repos.chatrooms.request_transcript(&tenant.id, &room.id).await.unwrap().unwrap();
    let close = Transition::close(ChatroomStatus::Closed, CloseReason::ClosedByAgent);
    repos.chatrooms.transition(&tenant.id, &room.id, &ChatroomStatus::OPEN, None, &close).await.unwrap().unwrap();

    let closed = |asked: bool| {
        envelope(
            "chatroom.closed",
            tenant.id,
            json!({
                "chatroomId": room.id, "reason": "closed_by_agent", "by": {"kind": "agent", "id": agent.id},
                "closedAt": Timestamp::now(), "transcriptRequested": asked,
            }),
        )
    };
    assert!(matches!(h.handle(&closed(false)).await, Outcome::Ignored(_)), "not asked: no transcript");
    h.handle(&closed(true)).await;

    let mail = h.mailbox.wait_for(room.email.as_str()).await;
    assert_eq!(mail.subject, "Your conversation with Acme");
    assert_eq!(mail.from.0, "Acme");
    let order: Vec<usize> = ["A live agent will join shortly", HOSTILE, "Happy to help:", "thanks!"]
        .iter()
        .map(|line| mail.text.find(line).unwrap_or_else(|| panic!("{line:?} missing from {}", mail.text)))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in the order they were sent: {order:?}");
    assert!(mail.text.contains("You: thanks!") && mail.text.contains("Ada: Happy to help:"), "{}", mail.text);
    let broken = mail.html.split("Happy to help:<br>").nth(1).unwrap_or_default();
    assert!(broken.trim_start().starts_with("first, this"), "line breaks kept: {}", mail.html);
    assert_escaped(&mail);
    assert_eq!(h.mailbox.to(room.email.as_str()).await.len(), 1, "only the asked-for close sends");
}

#[tokio::test]
async fn an_unclaimed_chatroom_alerts_the_agents_who_can_take_it() {
    let h = harness().await;
    let tenant = h.tenant("Acme", None).await;
    let join = vec![Permission::ChatroomsJoin];
    let (ada, bob) =
        (h.user(&tenant, "Ada", join.clone(), true).await, h.user(&tenant, "Bob", join.clone(), true).await);
    let invited = h.user(&tenant, "Ivy", join.clone(), false).await;
    let viewer = h.user(&tenant, "Val", vec![Permission::AnalyticsView], true).await;
    let gone = h.user(&tenant, "Dan", join.clone(), true).await;
    h.repos()
        .users
        .update(&tenant.id, &gone.id, &UserPatch { status: Some(UserStatus::Disabled), ..UserPatch::default() })
        .await
        .unwrap();
    let off = h.user(&tenant, "Ola", join.clone(), true).await;
    let patch = UserPatch { assigning: Some(Assigning { enabled: false, max_concurrent: 5 }), ..UserPatch::default() };
    h.repos().users.update(&tenant.id, &off.id, &patch).await.unwrap();
    let full = h.user(&tenant, "Fay", join.clone(), true).await;
    let patch = UserPatch { assigning: Some(Assigning { enabled: true, max_concurrent: 1 }), ..UserPatch::default() };
    h.repos().users.update(&tenant.id, &full.id, &patch).await.unwrap();
    let held = h.waiting_room(&tenant, "Hal", 1_000).await;
    let fay = AssignedAgent { id: full.id, name: "Fay".into(), email: full.email.clone() };
    let claim = Transition { agent: AgentChange::Set(fay), ..Transition::to(ChatroomStatus::Active) };
    h.repos()
        .chatrooms
        .transition(&tenant.id, &held.id, &[ChatroomStatus::Waiting], None, &claim)
        .await
        .unwrap()
        .unwrap();

    let room = h.waiting_room(&tenant, "Vera Visitor", 7 * 60_000).await;
    let event = envelope(
        "chatroom.unclaimed",
        tenant.id,
        json!({
            "chatroomId": room.id, "chatbotId": room.chatbot_id, "name": room.name, "email": room.email,
            "waitingSince": room.updated_at, "waitedMs": 7 * 60_000,
        }),
    );
    let Outcome::Emails(sent) = h.handle(&event).await else { panic!("emails expected") };
    let mut recipients: Vec<String> = sent.iter().map(|(_, to, _)| to.to_string()).collect();
    recipients.sort();
    let mut expected = vec![ada.email.to_string(), bob.email.to_string()];
    expected.sort();
    assert_eq!(recipients, expected, "active agents who take chats, have a password and room for one more");

    let mail = h.mailbox.wait_for(ada.email.as_str()).await;
    assert_eq!(mail.subject, "Vera Visitor has waited 7 min for an agent");
    assert!(mail.text.starts_with("Hi Ada,"), "{}", mail.text);
    assert!(mail.text.contains(room.email.as_str()), "{}", mail.text);
    assert_eq!(mail.html_links(), [format!("{PUBLIC_URL}/console/chatrooms/{}", room.id)]);
    h.mailbox.wait_for(bob.email.as_str()).await;
    for nobody in [&invited, &viewer, &gone, &off, &full] {
        assert!(h.mailbox.to(nobody.email.as_str()).await.is_empty(), "{} was alerted", nobody.name.as_str());
    }

    // Joined before the alert went out: nobody is alerted.
    let claimed = h.waiting_room(&tenant, "Otto", 7 * 60_000).await;
    let agent = AssignedAgent { id: ada.id, name: "Ada".into(), email: ada.email.clone() };
    let claim = Transition { agent: AgentChange::Set(agent), ..Transition::to(ChatroomStatus::Active) };
    h.repos().chatrooms.transition(&tenant.id, &claimed.id, &[ChatroomStatus::Waiting], None, &claim).await.unwrap();
    let late = envelope(
        "chatroom.unclaimed",
        tenant.id,
        json!({"chatroomId": claimed.id, "chatbotId": claimed.chatbot_id, "name": claimed.name,
               "email": claimed.email, "waitingSince": claimed.updated_at, "waitedMs": 7 * 60_000}),
    );
    assert!(matches!(h.handle(&late).await, Outcome::Ignored(_)));
}

/// The tenant function beside the email function, on the same database and topics.
async fn tenant_app(h: &Harness) -> (Api, EventLog, TestRedis) {
    let redis = TestRedis::new().await;
    let mut vars = h.db.env();
    vars.extend(redis.env());
    vars.extend(kafka_env(&h.kafka));
    vars.push(("PARLEY_JWT_KEYS", format!("test-1:{}", shared::testing::random_string(48))));
    let config = tenant::Config::from_env(&shared::config::Env::from_pairs(vars)).expect("a tenant config");
    let state = tenant::AppState::connect(&config).await.expect("the tenant app connects");
    let api = Api::new(shared::testing::serve(tenant::router(state)).await);
    let events = EventLog::start(&h.kafka, Topic::Tenants).await;
    (api, events, redis)
}

/// The token in a set-password link's fragment, checking the link's shape.
fn token_of(link: &str, page: &str) -> String {
    let prefix = format!("{PUBLIC_URL}/console/{page}#token=");
    link.strip_prefix(&prefix).unwrap_or_else(|| panic!("{link} does not start with {prefix}")).to_owned()
}

async fn envelope_of(events: &EventLog, event_type: &str, email: &str) -> shared::events::Envelope {
    let event = events.wait_for(event_type, |e| e["data"]["email"] == email).await;
    serde_json::from_value(event).expect("an envelope")
}

#[tokio::test]
async fn the_password_reset_link_sets_a_new_password() {
    let h = harness().await;
    let (api, events, _redis) = tenant_app(&h).await;
    let admin = accounts::sign_up(&api).await;
    let response = api.post("/auth/password-reset", shared::testing::anonymous(), json!({"email": admin.email})).await;
    expect_status(response, 202).await;
    let event = envelope_of(&events, "password_reset.requested", &admin.email).await;
    h.handle(&event).await;

    let mail = h.mailbox.wait_for(&admin.email).await;
    assert_eq!(mail.subject, "Reset your Parley password");
    assert_eq!(mail.from, ("Parley".to_owned(), FROM.to_owned()));
    let links = mail.html_links();
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(mail.text.contains(&links[0]), "the same link in the text part");
    let token = token_of(&links[0], "reset-password");

    let password = strong_password();
    let confirm = json!({"token": token, "password": password});
    expect_status(api.post("/auth/password-reset/confirm", shared::testing::anonymous(), confirm).await, 204).await;
    let login = json!({"email": admin.email, "password": password});
    expect_status(api.post("/auth/login", shared::testing::from_ip("198.51.100.7"), login).await, 200).await;
}

#[tokio::test]
async fn the_invitation_link_lets_the_agent_choose_a_password_and_sign_in() {
    let h = harness().await;
    let (api, events, _redis) = tenant_app(&h).await;
    let admin = accounts::sign_up(&api).await;
    let email = unique_email("ivy");
    let roles = expect_status(api.get("/roles", admin.bearer()).await, 200).await;
    let agent_role = roles.as_array().unwrap().iter().find(|r| r["name"] == "agent").unwrap()["id"].clone();
    let invite = json!({"name": "Ivy <Agent>", "email": email, "roleIds": [agent_role]});
    expect_status(api.post("/users", admin.bearer(), invite).await, 201).await;
    let event = envelope_of(&events, "user.invited", &email).await;
    h.handle(&event).await;

    let mail = h.mailbox.wait_for(&email).await;
    assert_eq!(mail.subject, "Ada Admin invited you to Acme on Parley");
    assert!(mail.html.contains("Hi Ivy &lt;Agent&gt;,"), "{}", mail.html);
    let token = token_of(&mail.html_links()[0], "accept-invitation");
    let password = strong_password();
    let confirm = json!({"token": token, "password": password});
    expect_status(api.post("/auth/password-reset/confirm", shared::testing::anonymous(), confirm).await, 204).await;
    let login = json!({"email": email, "password": password});
    expect_status(api.post("/auth/login", shared::testing::from_ip("198.51.100.8"), login).await, 200).await;
}
