//! Blocks: matched by email or IP address, for one chatbot of one tenant; listed newest first a
//! page at a time; lifted one by one.

use shared::domain::{Block, BlockCursor, BlockId, ChatbotId, ChatroomId, EmailAddress, TenantId, Timestamp, UserId};

use super::{Backend, assert_code, at, fresh_email, tenant};

contract!(
    blocks_match_the_email_or_the_ip_for_one_chatbot,
    blocks_are_listed_newest_first_a_page_at_a_time_per_tenant_or_chatbot,
    a_lifted_block_no_longer_blocks_and_only_its_tenant_lifts_it,
);

fn block_at(tenant: TenantId, chatbot: ChatbotId, created_at: Timestamp) -> Block {
    Block::new(tenant, chatbot, ChatroomId::new(), fresh_email("v"), "198.51.100.7".into(), UserId::new(), created_at)
}

fn block_ids(blocks: &[Block]) -> Vec<BlockId> {
    blocks.iter().map(|b| b.id).collect()
}

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

async fn blocks_are_listed_newest_first_a_page_at_a_time_per_tenant_or_chatbot(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let (chatbot, sibling) = (ChatbotId::new(), ChatbotId::new());
    // Five blocks, two of them in the same millisecond (told apart by id), one of the sibling
    // chatbot, and one of another tenant; inserted out of order.
    let mut same_ms = [block_at(a.id, chatbot, at(300)), block_at(a.id, chatbot, at(300))];
    same_ms.sort_by_key(|x| x.id);
    let oldest = block_at(a.id, chatbot, at(100));
    let of_sibling = block_at(a.id, sibling, at(200));
    let newest = block_at(a.id, chatbot, at(400));
    let foreign = block_at(other.id, chatbot, at(250));
    for block in [&same_ms[0], &newest, &oldest, &foreign, &of_sibling, &same_ms[1]] {
        b.repos.blocks.insert(block).await.unwrap();
    }

    let list = |chatbot: Option<ChatbotId>, before: Option<BlockCursor>, limit: u32| {
        let repos = b.repos.clone();
        async move { repos.blocks.list(&a.id, chatbot.as_ref(), before.as_ref(), limit).await.unwrap() }
    };
    let everything = vec![newest.id, same_ms[1].id, same_ms[0].id, of_sibling.id, oldest.id];
    assert_eq!(block_ids(&list(None, None, 50).await), everything, "newest first, only tenant A's");
    assert_eq!(list(None, None, 50).await[0], newest, "a block reads back as it was stored");

    // Pages of two, each starting after the last of the one before, cover everything once.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = list(None, before, 2).await;
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        before = Some(BlockCursor::after(last));
        paged.extend(block_ids(&page));
    }
    assert_eq!(paged, everything, "the page boundary falls between the two blocks of one millisecond");

    // One chatbot's; a cursor still works once the block it names is gone.
    let of_chatbot = vec![newest.id, same_ms[1].id, same_ms[0].id, oldest.id];
    assert_eq!(block_ids(&list(Some(chatbot), None, 50).await), of_chatbot);
    assert_eq!(block_ids(&list(Some(sibling), None, 50).await), [of_sibling.id]);
    let cursor = BlockCursor::after(&same_ms[1]);
    b.repos.blocks.delete(&a.id, &same_ms[1].id).await.unwrap();
    assert_eq!(block_ids(&list(Some(chatbot), Some(cursor), 50).await), [same_ms[0].id, oldest.id]);
    assert!(list(None, None, 0).await.is_empty());
    let foreign_list = b.repos.blocks.list(&other.id, None, None, 50).await.unwrap();
    assert_eq!(block_ids(&foreign_list), [foreign.id]);
}

async fn a_lifted_block_no_longer_blocks_and_only_its_tenant_lifts_it(b: Backend) {
    let (a, other) = (tenant(&b.repos, "A").await, tenant(&b.repos, "B").await);
    let chatbot = ChatbotId::new();
    let (spammer, ip) = (fresh_email("spammer"), "198.51.100.23");
    let block =
        Block::new(a.id, chatbot, ChatroomId::new(), spammer.clone(), ip.into(), UserId::new(), Timestamp::now());
    b.repos.blocks.insert(&block).await.unwrap();

    // Another tenant cannot lift it, nor can anyone lift a block that does not exist.
    assert_code(b.repos.blocks.delete(&other.id, &block.id).await, "block_not_found");
    assert_code(b.repos.blocks.delete(&a.id, &BlockId::new()).await, "block_not_found");
    assert!(b.repos.blocks.is_blocked(&a.id, &chatbot, &spammer, ip).await.unwrap(), "still blocked");

    assert_eq!(b.repos.blocks.delete(&a.id, &block.id).await.unwrap(), block, "lifting answers the block");
    assert!(!b.repos.blocks.is_blocked(&a.id, &chatbot, &spammer, ip).await.unwrap(), "lifted");
    assert!(b.repos.blocks.list(&a.id, None, None, 50).await.unwrap().is_empty());
    assert_code(b.repos.blocks.delete(&a.id, &block.id).await, "block_not_found");

    // Lifted twice at once: one caller gets the block, the other block_not_found.
    b.repos.blocks.insert(&block).await.unwrap();
    let (one, two) = tokio::join!(b.repos.blocks.delete(&a.id, &block.id), b.repos.blocks.delete(&a.id, &block.id));
    assert_eq!([&one, &two].iter().filter(|r| r.is_ok()).count(), 1, "{one:?} {two:?}");
    assert_code(if one.is_ok() { two } else { one }, "block_not_found");
}
