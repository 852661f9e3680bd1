//! `GET /dev/mail`: the emails Parley sent, in a browser, for `scripts/dev` (the idea is Rails'
//! letter_opener, as Chatwoot uses it in development). The emails come from [`Letters`]: the
//! in-process [`DevMailbox`] under `--memory`, or the local Mailpit's API ([`MailpitLetters`])
//! on the real services.
//!
//! - `GET /dev/mail`: a self-contained page (inline CSS, no script) listing the kept emails
//!   newest first: subject, recipient, sender, time, and the plain-text body with its links
//!   clickable.
//! - `GET /dev/mail/messages`: the same as JSON for programs,
//!   `[{id, kind, from, to, replyTo, subject, text, html, sentAt}]`, newest first.
//! - `GET /dev/mail/{id}`: one email, its HTML part in a sandboxed `<iframe srcdoc>` (no script
//!   runs, links open in a new tab).
//!
//! Everything an email holds is HTML-escaped on the way into a page: a visitor's name can be
//! `<script>`. The pages also carry a Content-Security-Policy that allows no script at all. These
//! routes show set-password links: mount them only in development, never beside production.

mod mailpit;

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::header,
    response::{Html, IntoResponse, Response},
    routing::get,
};
pub use mailpit::MailpitLetters;
use shared::error::ApiError;

use crate::{
    message::escape_html,
    transport::{DevMail, DevMailbox},
};

/// No script and no plugin run, no form posts; inline styles and the email's images load. (With
/// `default-src 'none'`, which the `srcdoc` document inherits, Chromium renders it blank.)
const CSP: &str = "default-src 'self'; script-src 'none'; object-src 'none'; style-src 'unsafe-inline'; \
                   img-src data: http: https:; form-action 'none'; frame-ancestors 'self'";

/// Where the page's emails come from.
#[async_trait]
pub trait Letters: Send + Sync {
    /// The emails, newest first; the error says, in words for the page, why they cannot be read.
    async fn newest(&self) -> Result<Vec<DevMail>, String>;

    /// One email by its id (`None` when there is none).
    async fn one(&self, id: &str) -> Result<Option<DevMail>, String>;

    /// What the page says of where the emails are and how many are kept.
    fn note(&self) -> String;
}

#[async_trait]
impl Letters for DevMailbox {
    async fn newest(&self) -> Result<Vec<DevMail>, String> {
        Ok(self.messages())
    }

    async fn one(&self, id: &str) -> Result<Option<DevMail>, String> {
        Ok(id.parse().ok().and_then(|id| self.get(id)))
    }

    fn note(&self) -> String {
        format!("the last {} are kept · nothing here left this machine", self.capacity())
    }
}

/// The routes above, over `letters` (for `--memory`, the same mailbox the email state sends
/// through).
pub fn router(letters: Arc<dyn Letters>) -> Router {
    Router::new()
        .route("/dev/mail", get(list))
        .route("/dev/mail/messages", get(messages))
        .route("/dev/mail/{id}", get(one))
        .with_state(letters)
}

fn unavailable(reason: String) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "mailbox_unavailable", reason)
}

async fn messages(State(letters): State<Arc<dyn Letters>>) -> Result<Json<Vec<DevMail>>, ApiError> {
    Ok(Json(letters.newest().await.map_err(unavailable)?))
}

async fn list(State(letters): State<Arc<dyn Letters>>) -> Result<Response, ApiError> {
    let mails = letters.newest().await.map_err(unavailable)?;
    Ok(page("Dev mailbox", &list_body(&mails, &letters.note())))
}

async fn one(State(letters): State<Arc<dyn Letters>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let mail = letters.one(&id).await.map_err(unavailable)?;
    let mail = mail.ok_or_else(|| ApiError::not_found("email_not_found", "no kept email has this id"))?;
    Ok(page(&mail.subject, &one_body(&mail)))
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        title = escape_html(title),
    );
    let headers = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (headers, Html(html)).into_response()
}

fn banner(inner: &str) -> String {
    format!(
        "<header class=\"top\"><div class=\"wrap\"><span class=\"logo\">✉</span> <strong>Parley dev \
         mailbox</strong>{inner}</div></header>\n"
    )
}

fn list_body(mails: &[DevMail], note: &str) -> String {
    let count = match mails.len() {
        1 => "1 email".to_owned(),
        n => format!("{n} emails"),
    };
    let mut out = banner(&format!("<span class=\"note\">{count} · {}</span>", escape_html(note)));
    out.push_str("<main class=\"wrap\">\n");
    if mails.is_empty() {
        out.push_str(
            "<p class=\"empty\">No email yet. Emails Parley sends (password resets, invitations, \
             welcomes, transcripts, alerts) appear here and on the terminal.</p>\n",
        );
    }
    for mail in mails {
        out.push_str(&format!(
            "<article class=\"mail\">\n<div class=\"head\"><h2><a href=\"/dev/mail/{id}\">{subject}</a></h2>\
             <span class=\"kind\">{kind}</span></div>\n{meta}<pre class=\"text\">{text}</pre>\n\
             <p class=\"more\"><a href=\"/dev/mail/{id}\">View the HTML version →</a></p>\n</article>\n",
            id = escape_html(&mail.id),
            subject = escape_html(&mail.subject),
            kind = escape_html(&mail.kind),
            meta = meta(mail),
            text = linkify(mail.text.trim_end()),
        ));
    }
    out.push_str("</main>\n");
    out
}

fn one_body(mail: &DevMail) -> String {
    // The email's own HTML, escaped into `srcdoc`: the browser parses it as a separate document,
    // sandboxed (no script, no same-origin access); links open in a new tab.
    let document = format!("<base target=\"_blank\">{}", mail.html);
    let mut out = banner("<a class=\"back\" href=\"/dev/mail\">← All emails</a>");
    out.push_str(&format!(
        "<main class=\"wrap\">\n<article class=\"mail\">\n<div class=\"head\"><h2>{subject}</h2>\
         <span class=\"kind\">{kind}</span></div>\n{meta}<iframe class=\"html\" title=\"The email's HTML part\" \
         sandbox=\"allow-popups allow-popups-to-escape-sandbox\" srcdoc=\"{document}\"></iframe>\n\
         <details><summary>Plain-text part</summary><pre class=\"text\">{text}</pre></details>\n</article>\n</main>\n",
        subject = escape_html(&mail.subject),
        kind = escape_html(&mail.kind),
        meta = meta(mail),
        document = escape_html(&document),
        text = linkify(mail.text.trim_end()),
    ));
    out
}

fn meta(mail: &DevMail) -> String {
    let mut rows =
        format!("<dt>To</dt><dd>{}</dd><dt>From</dt><dd>{}</dd>", escape_html(&mail.to), escape_html(&mail.from));
    if let Some(reply_to) = &mail.reply_to {
        rows.push_str(&format!("<dt>Reply-To</dt><dd>{}</dd>", escape_html(reply_to)));
    }
    rows.push_str(&format!(
        "<dt>Sent</dt><dd><time datetime=\"{}\">{}</time></dd>",
        mail.sent_at.to_rfc3339(),
        when(mail)
    ));
    format!("<dl class=\"meta\">{rows}</dl>\n")
}

/// `2026-11-25 10:15:30 UTC`.
fn when(mail: &DevMail) -> String {
    let at = mail.sent_at.as_offset_date_time().to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Plain text as HTML: escaped, with each `http://` or `https://` address made a link (and no
/// other scheme, so a `javascript:` text stays text). Trailing punctuation stays out of links.
pub fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(start) = [rest.find("https://"), rest.find("http://")].into_iter().flatten().min() {
        let (before, from) = rest.split_at(start);
        out.push_str(&escape_html(before));
        let end = from.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'')).unwrap_or(from.len());
        let raw = &from[..end];
        let url = raw.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
        if url.ends_with("://") {
            // A scheme with no address after it: text.
            out.push_str(&escape_html(raw));
            rest = &from[end..];
            continue;
        }
        let escaped = escape_html(url);
        out.push_str(&format!("<a href=\"{escaped}\" target=\"_blank\" rel=\"noreferrer\">{escaped}</a>"));
        rest = &from[url.len()..];
    }
    out.push_str(&escape_html(rest));
    out
}

const STYLE: &str = "
:root { color-scheme: light; --ink: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #3b5bdb; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f8; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; }
a { color: var(--accent); }
.wrap { max-width: 920px; margin: 0 auto; padding: 0 20px; }
.top { background: #1d2330; color: #fff; padding: 14px 0; margin-bottom: 24px; }
.top .wrap { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.top .logo { font-size: 18px; }
.top strong { font-size: 17px; }
.top .note { color: #b8bfcc; font-size: 13px; margin-left: auto; }
.top .back { color: #cdd6ff; margin-left: auto; text-decoration: none; }
.empty { background: #fff; border: 1px dashed var(--line); border-radius: 10px; padding: 32px;
  text-align: center; color: var(--muted); }
.mail { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px;
  margin-bottom: 18px; box-shadow: 0 1px 2px rgba(16, 24, 40, .05); }
.mail .head { display: flex; align-items: center; gap: 12px; }
.mail h2 { font-size: 17px; margin: 0; flex: 1; overflow-wrap: anywhere; }
.mail h2 a { color: var(--ink); text-decoration: none; }
.mail h2 a:hover { color: var(--accent); text-decoration: underline; }
.kind { font-size: 12px; color: #344054; background: #eef1f6; border-radius: 999px; padding: 2px 10px;
  white-space: nowrap; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 10px 0 12px;
  font-size: 13px; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.text { margin: 0; padding: 14px 16px; background: #fafbfc; border: 1px solid var(--line); border-radius: 8px;
  white-space: pre-wrap; overflow-wrap: anywhere; font: 13px/1.55 ui-monospace, SFMono-Regular, Menlo, Consolas,
  monospace; }
.more { margin: 10px 0 0; font-size: 13px; }
.html { width: 100%; height: 65vh; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
details { margin-top: 14px; }
summary { cursor: pointer; color: var(--muted); font-size: 13px; margin-bottom: 8px; }
";

#[cfg(test)]
mod tests {
    use super::linkify;

    #[test]
    fn links_are_made_only_of_http_addresses_and_everything_is_escaped() {
        assert_eq!(
            linkify("Go to https://x.test/a#token=b&c. <b>"),
            "Go to <a href=\"https://x.test/a#token=b&amp;c\" target=\"_blank\" \
             rel=\"noreferrer\">https://x.test/a#token=b&amp;c</a>. &lt;b&gt;"
        );
        assert_eq!(linkify("javascript:alert(1) http:// x"), "javascript:alert(1) http:// x");
        assert_eq!(
            linkify("(http://a.test)\"onmouseover=x"),
            "(<a href=\"http://a.test\" target=\"_blank\" rel=\"noreferrer\">http://a.test</a>)&quot;onmouseover=x"
        );
    }
}
