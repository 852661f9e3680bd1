//! `/demo`: a small fictional shop ("Acme Store") with the real embed snippet of a demo chatbot,
//! so a person can try the widget a minute after `scripts/dev`.
//!
//! The demo chatbot is made on the first visit through the runner's own APIs, in process: a
//! tenant "Parley demo" signs up (admin `demo@parley.localhost`, a random password), then creates
//! the chatbot "Demo", allowed on the runner's origin (`http://127.0.0.1:PORT` and
//! `http://localhost:PORT`) and on `PARLEY_PUBLIC_URL`'s. Its tenant id, chatbot id, API key and
//! admin password are kept in `demo.env` in the data directory (readable by its owner only), or
//! in the process without one, and reused on the next start. Each visit checks the stored key as
//! the widget will (the widget check, from the runner's origin): a chatbot that lost its origin
//! or was disabled is mended by its admin; a key that no longer works (revoked, or the data was
//! wiped) gets a new chatbot, in a new tenant when the admin cannot log in any more.
//!
//! The page shows the admin's email and password (to sign in to the console later) only to a
//! visitor on the machine itself, and they are never logged. A "Try your own chatbot" form puts
//! another tenant id and key in the browser's `localStorage` (never in a URL); the page's script
//! then embeds the snippet with those instead.

use std::{
    collections::HashMap,
    fs,
    io::Write as _,
    net::SocketAddr,
    os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _},
    path::PathBuf,
    sync::Arc,
};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, State},
    http::{Extensions, HeaderValue, Method, Request, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use chatbot_provisioning::PublicUrl;
use serde_json::{Value, json};
use shared::{
    ApiError,
    auth::{AccessError, ChatbotAccess, secret::random_token},
    domain::TenantId,
};
use tokio::sync::Mutex;
use tower::ServiceExt as _;

const FILE: &str = "demo.env";
const EMAIL: &str = "demo@parley.localhost";
const TENANT_NAME: &str = "Parley demo";
const CHATBOT_NAME: &str = "Demo";
const GREETING: &str = "Hi! This is Parley's demo shop. Say hello: an agent (you, in the console) answers here.";
/// Largest answer of the runner's own APIs the demo reads.
const ANSWER_LIMIT: usize = 1 << 20;

/// What the demo is made with.
pub struct Setup {
    /// The tenant function's router, as mounted under `/api/tenant`.
    pub tenant: Router,
    /// The chatbot-provisioning function's router, as mounted under `/api/chatbots`.
    pub chatbots: Router,
    /// The socket-node's widget check.
    pub access: ChatbotAccess,
    /// Where the runner listens.
    pub address: SocketAddr,
    /// `PARLEY_PUBLIC_URL`, whose origin the chatbot allows too.
    pub public_url: String,
    /// `PARLEY_PUBLIC_SOCKET_URL`, where the snippet loads the widget from.
    pub widget_base: PublicUrl,
    /// `PARLEY_DATA_DIR`: where `demo.env` is kept.
    pub data_dir: Option<PathBuf>,
    /// Whether the socket-node found a built widget.
    pub widget_built: bool,
}

/// The demo chatbot and who administers it. Never `Debug`: it holds a password and a key.
#[derive(Clone, PartialEq, Eq)]
struct Credentials {
    tenant_id: String,
    chatbot_id: String,
    api_key: String,
    admin_email: String,
    admin_password: String,
}

const FIELDS: [&str; 5] = [
    "PARLEY_DEMO_TENANT_ID",
    "PARLEY_DEMO_CHATBOT_ID",
    "PARLEY_DEMO_API_KEY",
    "PARLEY_DEMO_ADMIN_EMAIL",
    "PARLEY_DEMO_ADMIN_PASSWORD",
];

impl Credentials {
    fn to_env(&self) -> String {
        let values = [&self.tenant_id, &self.chatbot_id, &self.api_key, &self.admin_email, &self.admin_password];
        FIELDS.iter().zip(values).map(|(name, value)| format!("{name}={value}\n")).collect()
    }

    fn from_env(text: &str) -> Option<Self> {
        let vars: HashMap<&str, &str> =
            text.lines().filter_map(|line| line.split_once('=')).map(|(k, v)| (k.trim(), v.trim())).collect();
        let [tenant_id, chatbot_id, api_key, admin_email, admin_password] =
            FIELDS.map(|name| vars.get(name).filter(|v| !v.is_empty()).map(|v| (*v).to_owned()));
        Some(Self {
            tenant_id: tenant_id?,
            chatbot_id: chatbot_id?,
            api_key: api_key?,
            admin_email: admin_email?,
            admin_password: admin_password?,
        })
    }
}

/// The demo: how it is made, and the chatbot once it is.
pub struct Demo {
    setup: Setup,
    /// The origin the demo page is opened at, which the widget check is run with.
    origin: String,
    current: Mutex<Option<Credentials>>,
}

pub fn router(setup: Setup) -> Router {
    let origin = format!("http://127.0.0.1:{}", setup.address.port());
    let demo = Arc::new(Demo { setup, origin, current: Mutex::new(None) });
    Router::new().route("/demo", get(page)).with_state(demo)
}

async fn page(State(demo): State<Arc<Demo>>, extensions: Extensions) -> Result<Response, ApiError> {
    let credentials = demo.credentials().await?;
    // The admin's password is for the person at this machine, not for others on the network.
    let local = extensions.get::<ConnectInfo<SocketAddr>>().is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback());
    let mut response = Html(demo.render(&credentials, local)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}

impl Demo {
    /// The demo chatbot, made or mended as needed. One visit at a time does this, so two first
    /// visits make one chatbot.
    async fn credentials(&self) -> Result<Credentials, ApiError> {
        let mut current = self.current.lock().await;
        if current.is_none() {
            *current = self.load();
        }
        if let Some(stored) = current.clone()
            && let Some(working) = self.check(stored.clone()).await?
        {
            if working != stored {
                self.save(&working)?;
                *current = Some(working.clone());
            }
            return Ok(working);
        }
        let made = self.make().await?;
        self.save(&made)?;
        *current = Some(made.clone());
        Ok(made)
    }

    /// `stored` if its key opens the widget here, mended if its admin can fix it, or `None`
    /// when a new demo is needed.
    async fn check(&self, stored: Credentials) -> Result<Option<Credentials>, ApiError> {
        let Ok(tenant) = stored.tenant_id.parse::<TenantId>() else { return Ok(None) };
        let refusal = match self.setup.access.verify(&tenant, &stored.api_key, Some(&self.origin)).await {
            Ok(_) => return Ok(Some(stored)),
            Err(AccessError::Repo(err)) => return Err(err.into()),
            Err(refusal) => refusal,
        };
        let Some(token) = self.login(&stored).await? else { return Ok(None) };
        match refusal {
            // The runner moved to another port, or someone disabled the chatbot: put it back.
            AccessError::OriginNotAllowed | AccessError::ChatbotDisabled => {
                let path = format!("/chatbots/{}", stored.chatbot_id);
                let patch = json!({"allowedOrigins": self.allowed_origins(), "status": "active"});
                let (status, answer) = call(&self.setup.chatbots, Method::PATCH, &path, Some(&token), patch).await?;
                if status == StatusCode::OK {
                    return Ok(Some(stored));
                }
                tracing::warn!(status = status.as_u16(), code = %code(&answer), "the demo chatbot could not be mended");
                self.new_chatbot(stored, &token).await.map(Some)
            }
            // The key was revoked or rotated away: a new chatbot in the same tenant.
            _ => self.new_chatbot(stored, &token).await.map(Some),
        }
    }

    /// The admin's access token, or `None` when the stored password no longer logs in.
    async fn login(&self, stored: &Credentials) -> Result<Option<String>, ApiError> {
        let body = json!({"email": stored.admin_email, "password": stored.admin_password});
        let (status, answer) = call(&self.setup.tenant, Method::POST, "/auth/login", None, body).await?;
        match status {
            StatusCode::OK => Ok(answer["accessToken"].as_str().map(str::to_owned)),
            _ => Ok(None),
        }
    }

    /// A new tenant with its demo chatbot.
    async fn make(&self) -> Result<Credentials, ApiError> {
        let password = random_token();
        let mut email = EMAIL.to_owned();
        let (mut status, mut answer) = self.sign_up(&email, &password).await?;
        if status == StatusCode::CONFLICT {
            // The address belongs to a demo whose password was lost: make another beside it.
            email = format!("demo-{}@parley.localhost", random_token()[..8].to_ascii_lowercase());
            (status, answer) = self.sign_up(&email, &password).await?;
        }
        if status != StatusCode::CREATED {
            return Err(failed("sign-up", status, &answer));
        }
        let tenant_id = answer["tenant"]["id"].as_str().unwrap_or_default().to_owned();
        let token = answer["tokens"]["accessToken"].as_str().unwrap_or_default().to_owned();
        let admin = Credentials {
            tenant_id,
            chatbot_id: String::new(),
            api_key: String::new(),
            admin_email: email,
            admin_password: password,
        };
        self.new_chatbot(admin, &token).await
    }

    async fn sign_up(&self, email: &str, password: &str) -> Result<(StatusCode, Value), ApiError> {
        let body = json!({
            "tenantName": TENANT_NAME, "adminName": "Demo admin", "adminEmail": email, "adminPassword": password,
        });
        call(&self.setup.tenant, Method::POST, "/tenants", None, body).await
    }

    /// The demo chatbot, created in `admin`'s tenant.
    async fn new_chatbot(&self, admin: Credentials, token: &str) -> Result<Credentials, ApiError> {
        let body = json!({
            "name": CHATBOT_NAME,
            "allowedOrigins": self.allowed_origins(),
            "settings": {"greeting": GREETING, "launcherText": "Questions? Chat with us"},
        });
        let (status, answer) = call(&self.setup.chatbots, Method::POST, "/chatbots", Some(token), body).await?;
        if status != StatusCode::CREATED {
            return Err(failed("chatbot creation", status, &answer));
        }
        Ok(Credentials {
            chatbot_id: answer["chatbot"]["id"].as_str().unwrap_or_default().to_owned(),
            api_key: answer["apiKey"].as_str().unwrap_or_default().to_owned(),
            ..admin
        })
    }

    /// The runner's origin by address and by name, and `PARLEY_PUBLIC_URL`'s.
    fn allowed_origins(&self) -> Vec<String> {
        let port = self.setup.address.port();
        let mut origins = vec![self.origin.clone(), format!("http://localhost:{port}")];
        let public = origin_of(&self.setup.public_url);
        if !origins.contains(&public) {
            origins.push(public);
        }
        origins
    }

    fn file(&self) -> Option<PathBuf> {
        self.setup.data_dir.as_ref().map(|dir| dir.join(FILE))
    }

    fn load(&self) -> Option<Credentials> {
        let text = fs::read_to_string(self.file()?).ok()?;
        Credentials::from_env(&text)
    }

    /// Writes `demo.env` (mode 0600) in place of the previous one.
    fn save(&self, credentials: &Credentials) -> Result<(), ApiError> {
        let Some(path) = self.file() else { return Ok(()) };
        let fresh = path.with_extension("env.new");
        let write = || -> std::io::Result<()> {
            let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&fresh)?;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            file.write_all(credentials.to_env().as_bytes())?;
            file.sync_all()?;
            fs::rename(&fresh, &path)
        };
        write().map_err(|err| ApiError::internal(anyhow::anyhow!("could not write {}: {err}", path.display())))
    }

    fn render(&self, credentials: &Credentials, local: bool) -> String {
        let tenant = credentials.tenant_id.parse::<TenantId>().ok();
        let snippet = match &tenant {
            Some(tenant) => chatbot_provisioning::snippet::html(&self.setup.widget_base, tenant, &credentials.api_key),
            None => String::new(),
        };
        let agent = if local {
            format!(
                r#"<dl>
        <dt>Email</dt><dd><code id="demo-email">{email}</code></dd>
        <dt>Password</dt><dd><code id="demo-password">{password}</code></dd>
        <dt>Tenant id</dt><dd><code id="demo-tenant">{tenant}</code></dd>
      </dl>
      <p>Sign in with these at the <a href="/console/login" target="_blank" rel="noopener">agent console</a> (a new tab), and answer this page's visitors from its inbox.</p>"#,
                email = escape(&credentials.admin_email),
                password = escape(&credentials.admin_password),
                tenant = escape(&credentials.tenant_id),
            )
        } else {
            "<p>Open this page on the machine running Parley to see how the agent signs in.</p>".to_owned()
        };
        let not_built = if self.setup.widget_built {
            String::new()
        } else {
            r#"<p class="warning">No chat button? The widget is not built: run <code>npm run build</code> in <code>socket-node/web</code> (<code>scripts/dev</code> does it) and restart.</p>"#.to_owned()
        };
        PAGE.replace("{agent}", &agent)
            .replace("{not_built}", &not_built)
            .replace("{origin}", &escape(&self.origin))
            .replace("{snippet_text}", &escape(&snippet))
            .replace("{snippet}", &snippet)
    }
}

/// One request to one of the runner's own routers, as a client on the machine makes it.
async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> Result<(StatusCode, Value), ApiError> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 0))));
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Body::from(body.to_string())).map_err(ApiError::internal)?;
    let response = router.clone().oneshot(request).await.map_err(ApiError::internal)?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), ANSWER_LIMIT).await.map_err(ApiError::internal)?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

fn code(answer: &Value) -> &str {
    answer["code"].as_str().unwrap_or("-")
}

/// A step that should not fail did; the cause (status and code, never a body) is logged.
fn failed(step: &str, status: StatusCode, answer: &Value) -> ApiError {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        return ApiError::unavailable(anyhow::anyhow!("the demo's {step} answered 503 {}", code(answer)));
    }
    ApiError::internal(anyhow::anyhow!("the demo's {step} answered {} {}", status.as_u16(), code(answer)))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let end = url[after_scheme..].find('/').map_or(url.len(), |at| after_scheme + at);
    url[..end].to_owned()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The page; `{...}` are filled in by [`Demo::render`] (`{snippet}` raw, the rest escaped).
const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Store: everyday goods (a Parley demo)</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1c1917; background: #fafaf9; }
  a { color: inherit; }
  header { display: flex; align-items: center; justify-content: space-between; padding: 18px 40px; border-bottom: 1px solid #e7e5e4; background: #fff; }
  .brand { font-weight: 700; font-size: 20px; letter-spacing: .02em; }
  .brand span { color: #b45309; }
  nav a { margin-left: 24px; text-decoration: none; color: #57534e; }
  .hero { padding: 64px 40px 48px; max-width: 1080px; margin: 0 auto; display: grid; grid-template-columns: 1.2fr 1fr; gap: 40px; align-items: center; }
  .hero h1 { font-size: 44px; line-height: 1.1; margin: 0 0 16px; }
  .hero p { color: #57534e; font-size: 18px; margin: 0 0 24px; }
  .button { display: inline-block; background: #1c1917; color: #fff; padding: 12px 22px; border-radius: 999px; text-decoration: none; }
  .hero-art { height: 260px; border-radius: 24px; background: radial-gradient(circle at 30% 30%, #fde68a, #f59e0b 45%, #b45309); }
  .products { max-width: 1080px; margin: 0 auto; padding: 0 40px 48px; display: grid; grid-template-columns: repeat(4, 1fr); gap: 20px; }
  .product { background: #fff; border: 1px solid #e7e5e4; border-radius: 16px; overflow: hidden; }
  .swatch { height: 140px; }
  .product div.text { padding: 14px 16px; }
  .product strong { display: block; }
  .price { color: #57534e; }
  .help { max-width: 1080px; margin: 0 auto 48px; padding: 24px 40px; }
  .help p { background: #fff7ed; border: 1px solid #fed7aa; border-radius: 12px; padding: 16px 20px; margin: 0; }
  .dev { max-width: 1080px; margin: 0 auto 64px; padding: 0 40px; display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
  .dev section { border: 1px dashed #a8a29e; border-radius: 12px; padding: 18px 22px; background: #f5f5f4; font-size: 14px; }
  .dev h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .08em; color: #78716c; margin: 0 0 10px; }
  .dev dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0 0 10px; }
  .dev dt { color: #78716c; }
  .dev dd { margin: 0; word-break: break-all; }
  .dev code, .dev pre { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .dev pre { white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid #e7e5e4; border-radius: 8px; padding: 10px; }
  .dev label { display: block; margin: 8px 0 2px; color: #57534e; }
  .dev input { width: 100%; padding: 7px 9px; border: 1px solid #d6d3d1; border-radius: 6px; font: 13px ui-monospace, monospace; }
  .dev button { margin-top: 10px; padding: 7px 14px; border: 0; border-radius: 6px; background: #1c1917; color: #fff; cursor: pointer; }
  .warning { color: #b91c1c; }
  footer { text-align: center; color: #a8a29e; font-size: 13px; padding: 0 0 40px; }
  @media (max-width: 800px) { .hero, .dev { grid-template-columns: 1fr; } .products { grid-template-columns: 1fr 1fr; } }
</style>
</head>
<body>
<header>
  <div class="brand">Acme <span>Store</span></div>
  <nav><a href="#shop">Shop</a><a href="#help">Help</a><a href="#about">About</a></nav>
</header>
<main>
  <section class="hero">
    <div>
      <h1>Everyday goods, thoughtfully made.</h1>
      <p>Small-batch homeware and carry-alls, shipped free on orders over $50. Not sure what fits? Ask us in the chat.</p>
      <a class="button" href="#shop">Browse the shop</a>
    </div>
    <div class="hero-art" aria-hidden="true"></div>
  </section>
  <section class="products" id="shop">
    <article class="product"><div class="swatch" style="background:#e7d8c9"></div><div class="text"><strong>Canvas tote</strong><span class="price">$38</span></div></article>
    <article class="product"><div class="swatch" style="background:#9ca3af"></div><div class="text"><strong>Stoneware mug</strong><span class="price">$24</span></div></article>
    <article class="product"><div class="swatch" style="background:#a3b18a"></div><div class="text"><strong>Linen throw</strong><span class="price">$89</span></div></article>
    <article class="product"><div class="swatch" style="background:#d4a373"></div><div class="text"><strong>Oak desk lamp</strong><span class="price">$120</span></div></article>
  </section>
  <section class="help" id="help">
    <p><strong>Questions about an order?</strong> Our team is online: open the chat in the corner of this page.</p>
  </section>
  <div class="dev" id="about">
    <section>
      <h2>Parley demo: for the agent</h2>
      <p>This page embeds the snippet of the chatbot <strong>Demo</strong> (tenant <strong>Parley demo</strong>) at <code>{origin}</code>. Its agent signs in with:</p>
      {agent}
      {not_built}
      <p>The snippet on this page:</p>
      <pre>{snippet_text}</pre>
    </section>
    <section>
      <h2>Try your own chatbot</h2>
      <p>Showing: <strong id="showing">the demo chatbot</strong>. <a href="/demo" id="back-to-demo" hidden>Back to the demo chatbot</a></p>
      <form id="own-chatbot" method="post" action="/demo" autocomplete="off">
        <label for="own-tenant">Tenant id</label>
        <input id="own-tenant" name="tenantId" required spellcheck="false">
        <label for="own-key">API key</label>
        <input id="own-key" name="apiKey" required spellcheck="false" placeholder="parley_pk_...">
        <button type="submit">Use this chatbot</button>
      </form>
      <p>Kept in this browser only. The chatbot must allow <code>{origin}</code>.</p>
    </section>
  </div>
</main>
<footer>Acme Store is not a real shop: it is Parley's demo page.</footer>
<template id="parley-snippet">
{snippet}
</template>
<script>
(function () {
  var KEY = "parley.demo.ownChatbot";
  var own = null;
  try { own = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { own = null; }
  var form = document.getElementById("own-chatbot");
  var back = document.getElementById("back-to-demo");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var tenantId = form.elements.tenantId.value.trim();
    var apiKey = form.elements.apiKey.value.trim();
    if (!tenantId || !apiKey) return;
    localStorage.setItem(KEY, JSON.stringify({ tenantId: tenantId, apiKey: apiKey }));
    location.reload();
  });
  back.addEventListener("click", function (event) {
    event.preventDefault();
    localStorage.removeItem(KEY);
    location.reload();
  });
  var snippet = document.importNode(document.getElementById("parley-snippet").content, true);
  if (own && own.tenantId && own.apiKey) {
    var loader = snippet.querySelector("script[src]");
    loader.setAttribute("data-tenant-id", own.tenantId);
    loader.setAttribute("data-api-key", own.apiKey);
    document.getElementById("showing").textContent = "your own chatbot";
    form.elements.tenantId.value = own.tenantId;
    back.hidden = false;
  }
  document.body.appendChild(snippet);
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_written_and_read_back_and_a_partial_file_is_none() {
        let credentials = Credentials {
            tenant_id: "t".into(),
            chatbot_id: "c".into(),
            api_key: "parley_pk_x".into(),
            admin_email: EMAIL.into(),
            admin_password: "p=ss".into(),
        };
        assert!(Credentials::from_env(&credentials.to_env()) == Some(credentials.clone()));
        assert!(Credentials::from_env("PARLEY_DEMO_TENANT_ID=t\n").is_none());
    }

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(origin_of("https://dev.example.com/parley"), "https://dev.example.com");
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
