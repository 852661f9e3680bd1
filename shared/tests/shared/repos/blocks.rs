//! Blocks: matched by email or IP address, for one chatbot of one tenant.

use shared::domain::{Block, ChatbotId, ChatroomId, EmailAddress, TenantId, Timestamp, UserId};

use super::{Backend, assert_code, fresh_email, tenant};

contract!(blocks_match_the_email_or_the_ip_for_one_chatbot,);

async fn blocks_match_the_email_or_the_ip_for_one_chatbot(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let (chatbot, sibling) = (ChatbotId::new(), ChatbotId::new());
    let (spammer, ip) = (fresh_email("spammer"), "198.51.100.23");
    let block =
        Block::new(a.id, chatbot, ChatroomId::new(), spammer.clone(), ip.into(), UserId::new(), Timestamp::now());
    b.repos.blocks.insert(&block).await.unwrap();
    assert_code(b.repos.blocks.insert(&block).await, "block_exists");

    let blocked = |tenant: TenantId, chatbot: ChatbotId, email: EmailAddress, ip: &'static str| {
        let repos = b.repos.clone();
        async move { repos.blocks.is_blocked(&tenant, &chatbot, &email, ip).await.unwrap() }
    };
    let someone = fresh_email("someone");
    assert!(blocked(a.id, chatbot, spammer.clone(), "192.0.2.1").await, "same email, new address");
    assert!(blocked(a.id, chatbot, someone.clone(), ip).await, "new email, same address");
    assert!(!blocked(a.id, chatbot, someone.clone(), "192.0.2.1").await);
    assert!(!blocked(a.id, sibling, spammer.clone(), ip).await, "another chatbot of the tenant");
    assert!(!blocked(other.id, chatbot, spammer.clone(), ip).await, "another tenant");

    // A block recorded without an address does not block everyone without one.
    let blind =
        Block::new(a.id, chatbot, ChatroomId::new(), fresh_email("x"), String::new(), UserId::new(), Timestamp::now());
    b.repos.blocks.insert(&blind).await.unwrap();
    assert!(!blocked(a.id, chatbot, someone, "").await);
    assert!(blocked(a.id, chatbot, spammer, "").await);
}
