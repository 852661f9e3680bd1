//! Routing on two nodes and the real services: agents' limits under races, fair automatic
//! offers that move on when an agent goes offline or declines, queue places for visitors,
//! transfers, and returning visitors offered to their last agent.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use shared::{
    domain::{ChatroomStatus, TenantId, UserId},
    repos::Repos,
};

use crate::support::*;

/// Switches the tenant's chatbot to automatic routing, offers lasting `offer_seconds`.
async fn automatic(cluster: &Cluster, tenant: &Tenant, offer_seconds: u32) {
    let body = json!({"routing": {"mode": "automatic", "offerSeconds": offer_seconds}});
    let path = format!("/chatbots/{}", tenant.chatbot_id);
    expect_status(cluster.chatbots.patch(&path, tenant.admin.bearer(), body).await, 200).await;
}

/// Sets how many chatrooms the agent takes at once (before they connect: a connection reads it).
async fn capacity(cluster: &Cluster, tenant: &Tenant, agent: &Account, max: u32) {
    let body = json!({"assigning": {"enabled": true, "maxConcurrent": max}});
    let path = format!("/users/{}", agent.user_id);
    expect_status(cluster.tenant.patch(&path, tenant.admin.bearer(), body).await, 200).await;
}

/// The next `queue` frame in which `chatroom` is offered to `agent`.
async fn offered(client: &mut Client, chatroom: &str, agent: &str) -> Value {
    client
        .next_where("queue", |f| {
            f["chatrooms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["chatroomId"] == chatroom && c["offer"]["agentId"] == agent)
        })
        .await
}

fn repos(cluster: &Cluster) -> Repos {
    Repos::mongo(&cluster.db.db)
}

fn tenant_id(tenant: &Tenant) -> TenantId {
    tenant.admin.tenant_id.parse().unwrap()
}

/// Accepts every offer made to `me` and joins `also` (racing the offers) until it holds `want`
/// chatrooms; answers the chatrooms it holds.
async fn take_offers(mut client: Client, me: String, also: Vec<String>, want: usize) -> (Client, HashSet<String>) {
    let (mut asked, mut held) = (HashSet::new(), HashSet::new());
    for room in also {
        asked.insert(room.clone());
        client.send(json!({"type": "join", "chatroomId": room})).await;
    }
    while held.len() < want {
        let frame = client.read().await.expect("the agent stays connected");
        match frame["type"].as_str().unwrap() {
            "queue" => {
                for room in frame["chatrooms"].as_array().unwrap() {
                    let id = room["chatroomId"].as_str().unwrap().to_owned();
                    if room["offer"]["agentId"] == me.as_str() && asked.insert(id.clone()) {
                        client.send(json!({"type": "join", "chatroomId": id})).await;
                    }
                }
            }
            "chatroom" if frame["status"] == "active" && frame["agent"]["id"] == me.as_str() => {
                held.insert(frame["chatroomId"].as_str().unwrap().to_owned());
            }
            "error" => {
                let code = frame["code"].as_str().unwrap();
                assert!(["too_many_chatrooms", "chatroom_already_claimed"].contains(&code), "{frame}");
                // Refused: an offer of it later may be taken.
                asked.remove(frame["chatroomId"].as_str().unwrap());
            }
            _ => {}
        }
    }
    (client, held)
}

#[tokio::test]
async fn fifty_waiting_chatrooms_and_five_agents_of_capacity_three_racing_on_two_nodes_end_with_fifteen_taken_three_each()
 {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    automatic(&cluster, &tenant, 60).await;
    let mut agents = vec![tenant.agent.clone()];
    for _ in 0..4 {
        agents.push(cluster.agent(&tenant.admin).await);
    }
    for agent in &agents {
        capacity(&cluster, &tenant, agent, 3).await;
    }
    let mut rooms = Vec::new();
    for i in 0..50 {
        rooms.push(open_session(cluster.node(i % 2), &tenant).await.chatroom_id);
    }
    // All five connect at once, three on one node and two on the other; each also races the
    // offers with manual joins of two chatrooms of its own choosing.
    let takers = agents.iter().enumerate().map(|(i, agent)| {
        let node = cluster.node(i % 2);
        let also = vec![rooms[10 * i].clone(), rooms[10 * i + 1].clone()];
        async move {
            let (client, _, _) = agent_client(node, agent).await;
            take_offers(client, agent.user_id.clone(), also, 3).await
        }
    });
    let taken = futures::future::join_all(takers).await;

    let held: Vec<usize> = taken.iter().map(|(_, held)| held.len()).collect();
    assert_eq!(held, [3, 3, 3, 3, 3]);
    // The store agrees, and nothing more is offered: every agent is full.
    let (repos, tenant_id) = (repos(&cluster), tenant_id(&tenant));
    let mut by_agent: HashMap<UserId, usize> = HashMap::new();
    for status in [ChatroomStatus::Active, ChatroomStatus::Waiting] {
        for room in repos.chatrooms.list_with_status(&tenant_id, &[status], 200).await.unwrap() {
            if status == ChatroomStatus::Active {
                *by_agent.entry(room.agent_id.unwrap()).or_default() += 1;
            } else {
                assert_eq!(room.offer, None, "no agent has room for an offer");
            }
        }
    }
    assert_eq!(by_agent.values().sum::<usize>(), 15, "exactly fifteen taken");
    assert!(by_agent.values().all(|held| *held == 3), "{by_agent:?}");
    let seats = repos.seats.list(&tenant_id).await.unwrap();
    assert_eq!(seats.len(), 15, "one seat per chatroom held, none left behind");
    cluster.chatrooms_topic.caught_up().await;
    let assigned = cluster.chatrooms_topic.of_type("chatroom.assigned");
    assert_eq!(assigned.len(), 15, "one assignment per chatroom taken");
    assert!(assigned.iter().any(|e| e["data"]["via"] == "offer"), "offers were taken");
}

#[tokio::test]
async fn one_agent_joining_two_chatrooms_from_two_nodes_at_capacity_one_gets_one() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    capacity(&cluster, &tenant, &tenant.agent, 1).await;
    for _ in 0..3 {
        let first = open_session(cluster.node(0), &tenant).await.chatroom_id;
        let second = open_session(cluster.node(1), &tenant).await.chatroom_id;
        let (mut a, _, _) = agent_client(cluster.node(0), &tenant.agent).await;
        let (mut b, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
        tokio::join!(
            a.send(json!({"type": "join", "chatroomId": first})),
            b.send(json!({"type": "join", "chatroomId": second}))
        );
        let outcome = |frame: &Value| {
            if frame["type"] == "error" { frame["code"].as_str().unwrap().to_owned() } else { "joined".into() }
        };
        let joined_or_refused =
            |f: &Value| f["type"] == "error" || (f["status"] == "active" && f["agent"]["id"] == tenant.agent.user_id);
        let (a_got, b_got) = tokio::join!(
            a.next_where_any(&["chatroom", "error"], joined_or_refused),
            b.next_where_any(&["chatroom", "error"], joined_or_refused)
        );
        let mut outcomes = [outcome(&a_got), outcome(&b_got)];
        outcomes.sort_unstable();
        assert_eq!(outcomes, ["joined", "too_many_chatrooms"]);
        let (repos, agent_id) = (repos(&cluster), tenant.agent.user_id.parse::<UserId>().unwrap());
        let held = repos.chatrooms.list_for_agent(&tenant_id(&tenant), &agent_id).await.unwrap();
        assert_eq!(held.len(), 1, "the limit held");
        // Free the agent for the next round.
        a.send(json!({"type": "close", "chatroomId": held[0].id.to_string()})).await;
        a.next_where("chatroom", |f| f["status"] == "closed").await;
        a.close().await;
        b.close().await;
    }
}

#[tokio::test]
async fn the_least_loaded_agent_is_offered_first_and_an_agent_who_goes_offline_stops_getting_offers() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    automatic(&cluster, &tenant, 60).await;
    let bob = cluster.agent(&tenant.admin).await;
    let ada = &tenant.agent;
    let (mut ada_client, _, _) = agent_client(cluster.node(0), ada).await;
    // Ada alone: the first chatroom is hers, and she takes it.
    let first = open_session(cluster.node(0), &tenant).await.chatroom_id;
    offered(&mut ada_client, &first, &ada.user_id).await;
    join(&mut ada_client, &first).await;
    // Bob arrives on the other node holding nothing: the next chatroom is offered to him.
    let (mut bob_client, _, _) = agent_client(cluster.node(1), &bob).await;
    let second = open_session(cluster.node(1), &tenant).await.chatroom_id;
    offered(&mut bob_client, &second, &bob.user_id).await;
    let event =
        cluster.chatrooms_topic.wait_for("chatroom.offered", |e| e["data"]["chatroomId"] == second.as_str()).await;
    assert_eq!(event["data"]["agentId"], bob.user_id.as_str());
    // Bob closes his console: his offer moves on to Ada, and so does every later chatroom.
    bob_client.close().await;
    offered(&mut ada_client, &second, &ada.user_id).await;
    let third = open_session(cluster.node(1), &tenant).await.chatroom_id;
    offered(&mut ada_client, &third, &ada.user_id).await;
    let offers_to_bob = cluster.chatrooms_topic.of_type("chatroom.offered");
    let to_bob: Vec<&Value> = offers_to_bob.iter().filter(|e| e["data"]["agentId"] == bob.user_id.as_str()).collect();
    assert_eq!(to_bob.len(), 1, "one offer to Bob, while he was online");
    let room = repos(&cluster).chatrooms.get(&tenant_id(&tenant), &second.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(room.passed_by, [bob.user_id.parse::<UserId>().unwrap()]);
}

#[tokio::test]
async fn a_declined_offer_goes_to_the_next_agent_and_a_lapsed_one_leaves_the_chatroom_in_the_queue() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    automatic(&cluster, &tenant, 5).await;
    let bob = cluster.agent(&tenant.admin).await;
    let ada = &tenant.agent;
    let (mut ada_client, _, _) = agent_client(cluster.node(0), ada).await;
    let (mut bob_client, _, _) = agent_client(cluster.node(1), &bob).await;
    let room = open_session(cluster.node(0), &tenant).await.chatroom_id;
    let (first, second, second_id) = tokio::select! {
        _ = offered(&mut ada_client, &room, &ada.user_id) => (&mut ada_client, &mut bob_client, bob.user_id.clone()),
        _ = offered(&mut bob_client, &room, &bob.user_id) => (&mut bob_client, &mut ada_client, ada.user_id.clone()),
    };
    first.send(json!({"type": "decline", "chatroomId": room})).await;
    offered(second, &room, &second_id).await;
    // The second lets it lapse (5 s): nobody is left to offer it to, and it waits, unoffered.
    second
        .next_where("queue", |f| {
            f["chatrooms"].as_array().unwrap().iter().any(|c| c["chatroomId"] == room.as_str() && c["offer"].is_null())
        })
        .await;
    // Declining what is not offered to you is refused.
    first.send(json!({"type": "decline", "chatroomId": room})).await;
    assert_eq!(first.error().await["code"], "invalid_state");
    // Both can still join it by hand.
    join(first, &room).await;
}

#[tokio::test]
async fn waiting_visitors_see_their_places_change_as_agents_join() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let mut visitors = Vec::new();
    for i in 0..3 {
        let session = open_session(cluster.node(i % 2), &tenant).await;
        let (mut client, _) = Client::authenticated(cluster.node(i % 2), &session.token).await;
        let place = client.next_of("queue_position").await;
        assert_eq!(place["chatroomId"], session.chatroom_id.as_str());
        visitors.push((client, session));
    }
    // Each sees where they are now: 1, 2 and 3 (the first two hear of the later arrivals too).
    for (i, (client, session)) in visitors.iter_mut().enumerate() {
        let place = client.next_where("queue_position", |f| f["position"] == i as u64 + 1).await;
        assert_eq!(place["chatroomId"], session.chatroom_id.as_str());
    }
    let (mut agent, _, _) = agent_client(cluster.node(1), &tenant.agent).await;
    join(&mut agent, &visitors[0].1.chatroom_id).await;
    visitors[0].0.next_where("chatroom", |f| f["status"] == "active").await;
    for (i, (client, session)) in visitors.iter_mut().enumerate().skip(1) {
        let place = client.next_where("queue_position", |f| f["position"] == i as u64).await;
        assert_eq!(place["chatroomId"], session.chatroom_id.as_str());
        // The first wait ended makes the estimate.
        assert!(place["estimatedWaitMs"].as_u64().is_some(), "{place}");
    }
}

#[tokio::test]
async fn a_transfer_shows_in_both_consoles_and_the_widget() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    let bob = cluster.agent(&tenant.admin).await;
    let (mut visitor, mut ada, session) = chatting(&cluster, &tenant).await;
    let room = session.chatroom_id.as_str();
    let (mut bob_client, _, _) = agent_client(cluster.node(0), &bob).await;
    bob_client
        .next_where("agents", |f| {
            f["agents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == bob.user_id.as_str() && a["availability"] == "online")
        })
        .await;

    // Bob away: he cannot be handed chatrooms.
    ada.forget();
    bob_client.send(json!({"type": "availability", "status": "away"})).await;
    ada.next_where("agents", |f| {
        f["agents"].as_array().unwrap().iter().any(|a| a["id"] == bob.user_id.as_str() && a["availability"] == "away")
    })
    .await;
    ada.send(json!({"type": "transfer", "chatroomId": room, "toAgentId": bob.user_id})).await;
    assert_eq!(ada.error().await["code"], "agent_unavailable");

    ada.forget();
    bob_client.send(json!({"type": "availability", "status": "online"})).await;
    ada.next_where("agents", |f| {
        f["agents"].as_array().unwrap().iter().any(|a| a["id"] == bob.user_id.as_str() && a["availability"] == "online")
    })
    .await;
    ada.send(json!({"type": "transfer", "chatroomId": room, "toAgentId": bob.user_id})).await;
    let to_bob = |f: &Value| f["chatroomId"] == room && f["agent"]["id"] == bob.user_id.as_str();
    bob_client.next_where("chatroom", to_bob).await;
    ada.next_where("chatroom", to_bob).await;
    visitor.next_where("chatroom", to_bob).await;
    let told = visitor
        .next_where("message", |f| {
            f["sender"]["kind"] == "system" && f["message"].as_str().unwrap().contains("transferred the chat to")
        })
        .await;
    assert_eq!(told["chatroomId"], room);
    // Bob chats there now; Ada no longer can.
    bob_client.say(room, "Bob here, I can help.").await;
    assert_eq!(visitor.message("Bob here, I can help.").await["sender"]["id"], bob.user_id.as_str());
    ada.say(room, "still me?").await;
    assert_eq!(ada.error().await["code"], "not_in_chatroom");
    let event = cluster.chatrooms_topic.wait_for("chatroom.transferred", |e| e["data"]["chatroomId"] == room).await;
    assert_eq!(event["data"]["fromAgentId"], tenant.agent.user_id.as_str());
    assert_eq!(event["data"]["toAgentId"], bob.user_id.as_str());

    // Back to the queue: the visitor waits again, and is told.
    bob_client.send(json!({"type": "transfer", "chatroomId": room})).await;
    visitor.next_where("chatroom", |f| f["status"] == "waiting" && f["agent"].is_null()).await;
    visitor.next_where("message", |f| f["message"].as_str().unwrap().contains("next available agent")).await;
    visitor.next_where("queue_position", |f| f["position"] == 1).await;
}

#[tokio::test]
async fn a_returning_visitor_is_offered_to_the_agent_who_last_helped_them() {
    let cluster = cluster().await;
    let tenant = cluster.tenant().await;
    automatic(&cluster, &tenant, 60).await;
    let ada = &tenant.agent;
    let (mut ada_client, _, _) = agent_client(cluster.node(0), ada).await;
    let body = session_body(&tenant, "Grace", "grace@example.net");
    let created = expect_status(post_session(cluster.node(0), &random_ip(), &body).await, 201).await;
    let first = created["chatroomId"].as_str().unwrap().to_owned();
    offered(&mut ada_client, &first, &ada.user_id).await;
    join(&mut ada_client, &first).await;
    ada_client.send(json!({"type": "close", "chatroomId": first})).await;
    ada_client.next_where("chatroom", |f| f["status"] == "closed").await;
    // Ada takes a stranger's chatroom; Bob arrives holding nothing, so the least loaded is Bob.
    let stranger = open_session(cluster.node(1), &tenant).await.chatroom_id;
    offered(&mut ada_client, &stranger, &ada.user_id).await;
    join(&mut ada_client, &stranger).await;
    let bob = cluster.agent(&tenant.admin).await;
    let (_bob_client, _, _) = agent_client(cluster.node(1), &bob).await;
    // Grace comes back: hers is offered to Ada, who helped her before.
    let created = expect_status(post_session(cluster.node(1), &random_ip(), &body).await, 201).await;
    let again = created["chatroomId"].as_str().unwrap().to_owned();
    offered(&mut ada_client, &again, &ada.user_id).await;
    let event =
        cluster.chatrooms_topic.wait_for("chatroom.offered", |e| e["data"]["chatroomId"] == again.as_str()).await;
    assert_eq!(event["data"]["agentId"], ada.user_id.as_str());
    assert_eq!(event["data"]["returningVisitor"], true);
}
