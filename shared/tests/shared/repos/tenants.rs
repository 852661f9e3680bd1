//! Tenants: stored, read, renamed, deleted.

use shared::domain::{TenantId, TenantPatch};

use super::{Backend, assert_code, name, tenant};

contract!(tenants_are_stored_read_and_updated, a_tenant_row_can_be_deleted,);

async fn tenants_are_stored_read_and_updated(b: Backend) {
    let acme = tenant(&b.repos, "Acme").await;
    assert_eq!(b.repos.tenants.get(&acme.id).await.unwrap(), Some(acme.clone()));
    assert_eq!(b.repos.tenants.get(&TenantId::new()).await.unwrap(), None);
    assert_eq!(acme.sender_name().as_str(), "Acme", "emails come from the tenant's name by default");

    let rename = TenantPatch { name: Some(name("Acme Support")), ..TenantPatch::default() };
    let renamed = b.repos.tenants.update(&acme.id, &rename).await.unwrap();
    assert_eq!(renamed.name.as_str(), "Acme Support");
    assert!(renamed.updated_at >= acme.updated_at);
    assert_eq!(renamed.created_at, acme.created_at);
    assert_eq!(b.repos.tenants.get(&acme.id).await.unwrap(), Some(renamed.clone()));

    let sender = TenantPatch { email_sender_name: Some(Some(name("Acme Help Desk"))), ..TenantPatch::default() };
    let with_sender = b.repos.tenants.update(&acme.id, &sender).await.unwrap();
    assert_eq!((with_sender.name.as_str(), with_sender.sender_name().as_str()), ("Acme Support", "Acme Help Desk"));
    assert_eq!(b.repos.tenants.get(&acme.id).await.unwrap(), Some(with_sender));
    let reset = TenantPatch { email_sender_name: Some(None), ..TenantPatch::default() };
    let reset = b.repos.tenants.update(&acme.id, &reset).await.unwrap();
    assert_eq!(reset.sender_name().as_str(), "Acme Support");
    assert_eq!(b.repos.tenants.get(&acme.id).await.unwrap(), Some(reset));

    assert_code(b.repos.tenants.update(&TenantId::new(), &rename).await, "tenant_not_found");
    assert_code(b.repos.tenants.insert(&acme).await, "tenant_exists");
}

async fn a_tenant_row_can_be_deleted(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    b.repos.tenants.delete(&a.id).await.unwrap();
    assert_eq!(b.repos.tenants.get(&a.id).await.unwrap(), None);
    assert_code(b.repos.tenants.delete(&a.id).await, "tenant_not_found");
}
