//! `/`: the page a person sees first. It says what is running and links what to open: the demo
//! shop with the widget, the mailbox, the system status, the API documents and the widget's
//! endpoints. (The agent console comes with its own issue; this page then links it.)

use axum::{Router, response::Html, routing::get};

use crate::Config;

/// What the page links to.
#[derive(Debug, Clone)]
pub struct Links {
    pub base: String,
    /// `/demo`: a demo shop with the widget of a demo chatbot.
    pub demo: String,
    /// `/dev/mail`, when the runner shows the emails it sent.
    pub mailbox: Option<String>,
    /// Where data lives, in words.
    pub data: String,
    /// Whether analytics runs (it needs MongoDB, Redis and Kafka).
    pub analytics: bool,
}

impl Links {
    pub fn new(config: &Config, shows_mail: bool) -> Self {
        let base = format!("http://{}", config.http.addr);
        let mailbox = shows_mail.then(|| format!("{base}/dev/mail"));
        let data = match (&config.data_dir, &config.services.mongo) {
            (Some(dir), Some(_)) => format!("kept in {} between runs", dir.display()),
            (None, Some(_)) => "kept in the MongoDB you configured".to_owned(),
            (_, None) => "in this process's memory: gone when it stops".to_owned(),
        };
        let services = &config.services;
        let analytics = services.mongo.is_some() && services.redis.is_some() && services.kafka.is_some();
        let demo = format!("{base}/demo");
        Self { base, demo, mailbox, data, analytics }
    }

    /// The lines of the start-up banner: `(what, where)`.
    pub fn banner(&self) -> Vec<(&'static str, String)> {
        let base = &self.base;
        let mut lines =
            vec![("home", format!("{base}/")), ("console", format!("{base}/console")), ("demo", self.demo.clone())];
        if let Some(mailbox) = &self.mailbox {
            lines.push(("mailbox", mailbox.clone()));
        }
        let status = format!("{base}/api/analytics/status");
        lines.push(("status", if self.analytics { status } else { format!("{status} (off in memory mode)") }));
        lines.extend([
            ("openapi", format!("{base}/api/tenant/openapi.json")),
            ("openapi", format!("{base}/api/chatbots/openapi.json")),
            ("websocket", format!("{}/v1/ws", base.replacen("http", "ws", 1))),
            ("data", self.data.clone()),
        ]);
        lines
    }
}

pub fn router(links: Links) -> Router {
    let page = page(&links);
    Router::new().route("/", get(move || async move { Html(page) }))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn link(url: &str) -> String {
    let url = escape(url);
    format!(r#"<a href="{url}">{url}</a>"#)
}

fn page(links: &Links) -> String {
    let base = &links.base;
    let mailbox = match &links.mailbox {
        Some(url) => format!(
            "<li><strong>Mailbox</strong>: every email Parley sends (welcome, invitation, password reset) lands here. {}</li>",
            link(url)
        ),
        None => "<li><strong>Mailbox</strong>: emails go to the SMTP relay you configured.</li>".to_owned(),
    };
    let rows: String = [
        ("Tenant API (sign-up, login, agents, roles)", format!("{base}/api/tenant/openapi.json")),
        ("Chatbots API (widgets, API keys, embed snippet)", format!("{base}/api/chatbots/openapi.json")),
        ("Analytics API (status, chatbot status, usage reports)", format!("{base}/api/analytics/openapi.json")),
        (
            if links.analytics {
                "System status"
            } else {
                "System status (needs the services: run scripts/dev without --memory)"
            },
            format!("{base}/api/analytics/status"),
        ),
        ("Widget loader (the embed snippet's)", format!("{base}/widget.js")),
        ("Visitor sessions (the widget's)", format!("{base}/v1/visitor/sessions")),
        ("Live chat (WebSocket)", format!("{}/v1/ws", base.replacen("http", "ws", 1))),
        ("Socket-node readiness and metrics", format!("{base}/readyz")),
    ]
    .iter()
    .map(|(what, url)| format!("<tr><td>{}</td><td><code>{}</code></td></tr>", escape(what), link(url)))
    .collect();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley is running</title>
<style>
  body {{ font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933; background: #f5f7fa; margin: 0; }}
  main {{ max-width: 860px; margin: 48px auto; padding: 0 24px; }}
  h1 {{ font-size: 28px; margin: 0 0 4px; }}
  h1 span {{ color: #3e63dd; }}
  .lead {{ color: #52606d; margin: 0 0 32px; }}
  section {{ background: #fff; border: 1px solid #e4e7eb; border-radius: 10px; padding: 20px 24px; margin-bottom: 20px; }}
  h2 {{ font-size: 17px; margin: 0 0 12px; }}
  ul {{ margin: 0; padding-left: 20px; }}
  li {{ margin: 6px 0; }}
  table {{ width: 100%; border-collapse: collapse; }}
  td {{ padding: 7px 0; border-top: 1px solid #f0f2f5; vertical-align: top; }}
  td:first-child {{ width: 42%; color: #52606d; }}
  a {{ color: #3e63dd; text-decoration: none; }}
  a:hover {{ text-decoration: underline; }}
  code {{ font: 14px ui-monospace, SFMono-Regular, Menlo, monospace; }}
  pre {{ background: #1f2933; color: #e4e7eb; padding: 14px 16px; border-radius: 8px; overflow-x: auto; font-size: 13px; }}
</style>
</head>
<body>
<main>
  <h1><span>Parley</span> is running</h1>
  <p class="lead">Live chat between your visitors and your agents: every function and the chat server, at <code>{base_text}</code>. Data is {data}.</p>
  <section>
    <h2>Open</h2>
    <ul>
      {mailbox}
      <li><strong>Demo shop</strong>: a page with the visitor widget of a demo chatbot, made on your first visit; it also says how its agent signs in. {demo}</li>
      <li><strong>Agent console</strong>: sign up or sign in; answer visitors from the inbox; run the team, the chatbots and the reports. {console}</li>
    </ul>
  </section>
  <section>
    <h2>APIs</h2>
    <table>{rows}</table>
  </section>
  <section>
    <h2>Try it</h2>
    <pre>curl -s {base_text}/api/tenant/tenants \
  -H 'content-type: application/json' \
  -d '{{"tenantName": "Acme", "adminName": "Ada",
       "adminEmail": "ada@acme.test", "adminPassword": "correct horse battery"}}'</pre>
    <p>Then log in (<code>POST /api/tenant/auth/login</code>), create a chatbot (<code>POST /api/chatbots/chatbots</code>) and open a visitor session with its API key; the OpenAPI documents above describe every route.</p>
  </section>
</main>
</body>
</html>
"#,
        base_text = escape(base),
        demo = link(&links.demo),
        console = link(&format!("{base}/console")),
        data = escape(&links.data),
    )
}
