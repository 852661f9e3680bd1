//! The embed snippet: a one-line inline stub that queues the page's `Parley(...)` calls made
//! before the widget arrives, then the `<script async>` tag that loads it from the socket-node.

use shared::domain::TenantId;

use crate::config::PublicUrl;

/// Defines `window.Parley` until the loader does: each call is queued in `Parley.q`, which the
/// loader replays.
pub const STUB: &str =
    "<script>window.Parley=window.Parley||function(){(Parley.q=Parley.q||[]).push(arguments)};</script>";

/// The snippet for a tenant's chatbot with `api_key` filled in (a real key, or the placeholder
/// `GET /chatbots/{id}/snippet` shows, since keys are not kept).
pub fn html(base: &PublicUrl, tenant: &TenantId, api_key: &str) -> String {
    format!(
        "<!-- Parley chat widget: paste before </body> -->\n\
         {STUB}\n\
         <script async src=\"{}/widget.js\" data-tenant-id=\"{}\" data-api-key=\"{}\"></script>",
        attribute(base.as_str()),
        tenant,
        attribute(api_key),
    )
}

/// Escapes text for a double-quoted HTML attribute. (Every value here is already restricted to
/// safe characters; this keeps it so if that ever changes.)
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_queues_early_calls_then_loads_the_widget_with_the_tenant_and_key() {
        let tenant = TenantId::new();
        let base: PublicUrl = "https://chat.example.com/".parse().unwrap();
        let html = html(&base, &tenant, "parley_pk_abc");
        let lines: Vec<&str> = html.lines().collect();
        assert_eq!(lines.len(), 3, "{html}");
        assert_eq!(lines[1], STUB, "the stub comes before the loader");
        assert!(lines[2].starts_with("<script async src="), "{html}");
        assert!(html.contains("src=\"https://chat.example.com/widget.js\""), "{html}");
        assert!(html.contains(&format!("data-tenant-id=\"{tenant}\"")), "{html}");
        assert!(html.contains("data-api-key=\"parley_pk_abc\""), "{html}");
        assert_eq!(attribute("a\"<b>&"), "a&quot;&lt;b&gt;&amp;");
    }
}
