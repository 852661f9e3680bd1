//! Chatbots: stored whole, tenant scope, updates that require the revision they read.

use shared::{
    auth::{ApiKey, IdentityKeys},
    domain::{ApiKeys, Chatbot, ChatbotId, ChatbotPatch, ChatbotStatus, OriginPattern, TenantId, WidgetSettings},
    repos::Repos,
};

use super::{Backend, assert_code, name, tenant};

contract!(
    a_chatbot_is_stored_and_read_back_whole,
    chatbots_are_scoped_to_their_tenant,
    a_chatbot_update_can_require_the_revision_it_read,
);

async fn chatbot(repos: &Repos, tenant: &TenantId, n: &str) -> Chatbot {
    let id = ChatbotId::new();
    let (seed, _) = IdentityKeys::ephemeral().issue(id);
    let mut chatbot = Chatbot::new(id, *tenant, name(n), &ApiKey::generate(id), seed);
    chatbot.allowed_origins = vec!["https://*.example.com".parse().unwrap(), "http://localhost:3000".parse().unwrap()];
    repos.chatbots.insert(&chatbot).await.unwrap();
    chatbot
}

async fn a_chatbot_is_stored_and_read_back_whole(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let support = chatbot(&b.repos, &a.id, "Support").await;
    let sales = chatbot(&b.repos, &a.id, "Sales").await;
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), Some(support.clone()));
    assert_eq!(b.repos.chatbots.list(&a.id).await.unwrap(), vec![support.clone(), sales.clone()]);
    assert_code(b.repos.chatbots.insert(&support).await, "chatbot_exists");

    b.repos.chatbots.delete(&a.id, &support.id).await.unwrap();
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), None);
    assert_code(b.repos.chatbots.delete(&a.id, &support.id).await, "chatbot_not_found");
    assert_eq!(b.repos.chatbots.list(&a.id).await.unwrap(), vec![sales]);
}

async fn chatbots_are_scoped_to_their_tenant(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let support = chatbot(&b.repos, &a.id, "Support").await;
    assert_eq!(b.repos.chatbots.get(&other.id, &support.id).await.unwrap(), None);
    assert!(b.repos.chatbots.list(&other.id).await.unwrap().is_empty());
    let patch = ChatbotPatch { name: Some(name("Mallory")), ..ChatbotPatch::default() };
    assert_code(b.repos.chatbots.update(&other.id, &support.id, &patch, None).await, "chatbot_not_found");
    assert_code(b.repos.chatbots.delete(&other.id, &support.id).await, "chatbot_not_found");
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), Some(support), "tenant B changed nothing");
}

async fn a_chatbot_update_can_require_the_revision_it_read(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let support = chatbot(&b.repos, &a.id, "Support").await;
    let settings = WidgetSettings { colour: "#112233".parse().unwrap(), ..WidgetSettings::default() };
    let patch = ChatbotPatch {
        settings: Some(settings.clone()),
        status: Some(ChatbotStatus::Disabled),
        allowed_origins: Some(vec![OriginPattern::Any]),
        enforce_identity: Some(true),
        ..ChatbotPatch::default()
    };
    let updated = b.repos.chatbots.update(&a.id, &support.id, &patch, Some(support.revision)).await.unwrap();
    assert_eq!(updated.revision, support.revision + 1);
    assert_eq!((updated.settings.clone(), updated.status), (settings, ChatbotStatus::Disabled));
    assert_eq!(updated.allowed_origins, vec![OriginPattern::Any]);
    assert!(updated.enforce_identity);
    assert_eq!((updated.name.clone(), updated.api_keys.clone()), (support.name.clone(), support.api_keys.clone()));
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), Some(updated.clone()));

    // A writer that read the old revision loses; nothing it carried is stored.
    let stale = ChatbotPatch { api_keys: Some(ApiKeys::default()), ..ChatbotPatch::default() };
    assert_code(b.repos.chatbots.update(&a.id, &support.id, &stale, Some(support.revision)).await, "chatbot_changed");
    assert_code(b.repos.chatbots.update(&a.id, &ChatbotId::new(), &stale, Some(0)).await, "chatbot_not_found");
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), Some(updated.clone()));

    let rotated = b.repos.chatbots.update(&a.id, &support.id, &stale, Some(updated.revision)).await.unwrap();
    assert_eq!(rotated.api_keys, ApiKeys::default());
    assert_eq!(rotated.revision, updated.revision + 1);
}
