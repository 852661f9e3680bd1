//! An email ready for a transport, and the rules that make it safe to send: header values carry
//! no line breaks or other control characters, and HTML carries what people typed as text.

use std::fmt;

use shared::domain::EmailAddress;

/// The kinds of email Parley sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailKind {
    /// To the visitor when their chatroom opens.
    Welcome,
    /// To the tenant's available agents when a chatroom waits too long.
    UnclaimedAlert,
    /// The conversation, to the visitor who asked for it, when the chatroom ends.
    Transcript,
    PasswordReset,
    Invitation,
}

impl EmailKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::UnclaimedAlert => "unclaimed_alert",
            Self::Transcript => "transcript",
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
        }
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A display name and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub address: EmailAddress,
}

impl Mailbox {
    /// The name is made header-safe ([`header_text`]).
    pub fn new(name: &str, address: EmailAddress) -> Self {
        Self { name: header_text(name, 100), address }
    }
}

/// One email to one recipient, with a plain-text and an HTML part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub kind: EmailKind,
    pub from: Mailbox,
    pub to: Mailbox,
    pub reply_to: Option<EmailAddress>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Email {
    /// The subject is made header-safe ([`header_text`]).
    pub fn new(kind: EmailKind, from: Mailbox, to: Mailbox, subject: &str, text: String, html: String) -> Self {
        Self { kind, from, to, reply_to: None, subject: header_text(subject, 200), text, html }
    }
}

/// A value fit for a header: every control character (CR and LF above all, which would start a
/// new header) becomes a space, runs of spaces become one, and it is cut to `max_chars`.
pub fn header_text(value: &str, max_chars: usize) -> String {
    let spaced: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let joined = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", joined[..cut].trim_end()),
        None => joined,
    }
}

/// Text made safe inside HTML elements and quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escaped text with its line breaks kept (`<br>`).
pub fn escape_lines(text: &str) -> String {
    escape_html(text).replace("\r\n", "\n").replace('\n', "<br>\n")
}

/// Text for the plain-text part: control characters other than line breaks and tabs removed.
pub fn plain(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_lose_line_breaks_and_control_characters() {
        assert_eq!(header_text("Hi\r\nBcc: all@example.com", 100), "Hi Bcc: all@example.com");
        assert_eq!(header_text("  a\tb\u{0}c\u{7f}  ", 100), "a b c");
        assert_eq!(header_text("Vera Visitor", 4), "Vera…");
        assert_eq!(header_text("ééééé", 5), "ééééé");
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape_lines("a\r\n<b>"), "a<br>\n&lt;b&gt;");
        assert_eq!(plain("a\u{1b}[31mb\nc"), "a[31mb\nc");
    }
}
