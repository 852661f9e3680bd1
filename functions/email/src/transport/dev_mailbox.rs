//! The development mailbox (`scripts/dev --memory`): nothing leaves the machine. Each email is
//! printed to stdout as it is "sent" (from, to, subject, date, and the plain-text body, which
//! carries the links) and the last [`DevMailbox::capacity`] are kept for `GET /dev/mail`
//! ([`crate::dev_mail`]), like Rails' letter_opener.
//!
//! The printout holds what the email holds, set-password links and their tokens included: that
//! is its point. It goes to stdout only, never through `tracing`, and this transport has no
//! place outside development.

use std::{
    collections::VecDeque,
    io::Write,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use async_trait::async_trait;
use serde::Serialize;
use shared::domain::Timestamp;

use super::{SendError, Transport};
use crate::message::{Email, Mailbox};

/// How many emails a mailbox keeps unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 100;

/// One email as the mailbox kept it; serialised as `GET /dev/mail/messages` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevMail {
    /// The mailbox's id: 1, 2, 3, ... in the order sent in process; Mailpit's own id otherwise.
    pub id: String,
    /// The [`EmailKind`](crate::message::EmailKind) as a string (`password_reset`, ...).
    pub kind: String,
    /// `Name <address>`.
    pub from: String,
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sent_at: Timestamp,
}

/// A [`Transport`] that keeps the last emails in memory and prints each one.
pub struct DevMailbox {
    capacity: usize,
    print: bool,
    next_id: AtomicU64,
    /// Oldest first; at most `capacity`.
    kept: Mutex<VecDeque<DevMail>>,
}

impl Default for DevMailbox {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl DevMailbox {
    /// Keeps the last `capacity` emails (at least one) and prints each to stdout.
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), print: true, next_id: AtomicU64::new(1), kept: Mutex::new(VecDeque::new()) }
    }

    /// The same without the printout (for tests that only read the mailbox).
    pub fn quiet(capacity: usize) -> Self {
        Self { print: false, ..Self::new(capacity) }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The kept emails, newest first.
    pub fn messages(&self) -> Vec<DevMail> {
        self.kept.lock().unwrap().iter().rev().cloned().collect()
    }

    /// One kept email; `None` when there never was one with this id or it has been pushed out.
    pub fn get(&self, id: u64) -> Option<DevMail> {
        let id = id.to_string();
        self.kept.lock().unwrap().iter().find(|mail| mail.id == id).cloned()
    }

    fn keep(&self, mail: DevMail) {
        let mut kept = self.kept.lock().unwrap();
        while kept.len() >= self.capacity {
            kept.pop_front();
        }
        kept.push_back(mail);
    }
}

fn mailbox(mailbox: &Mailbox) -> String {
    if mailbox.name.is_empty() {
        mailbox.address.as_str().to_owned()
    } else {
        format!("{} <{}>", mailbox.name, mailbox.address.as_str())
    }
}

/// Text fit for a terminal: control characters other than line breaks and tabs (escape
/// sequences above all, which a visitor's name could carry) removed.
fn terminal(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect()
}

/// The printout of one email, between two rules.
pub fn printout(mail: &DevMail) -> String {
    let rule = "─".repeat(72);
    let mut out = format!("\n{rule}\n📧 email #{} ({})\n", mail.id, terminal(&mail.kind));
    out.push_str(&format!("From:     {}\n", terminal(&mail.from)));
    out.push_str(&format!("To:       {}\n", terminal(&mail.to)));
    if let Some(reply_to) = &mail.reply_to {
        out.push_str(&format!("Reply-To: {}\n", terminal(reply_to)));
    }
    out.push_str(&format!("Subject:  {}\n", terminal(&mail.subject)));
    out.push_str(&format!("Date:     {}\n\n", mail.sent_at.to_rfc3339()));
    out.push_str(terminal(&mail.text).trim_end());
    out.push_str(&format!("\n{rule}\n"));
    out
}

#[async_trait]
impl Transport for DevMailbox {
    async fn send(&self, email: &Email) -> Result<String, SendError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mail = DevMail {
            id: id.to_string(),
            kind: email.kind.as_str().to_owned(),
            from: mailbox(&email.from),
            to: mailbox(&email.to),
            reply_to: email.reply_to.as_ref().map(|address| address.as_str().to_owned()),
            subject: email.subject.clone(),
            text: email.text.clone(),
            html: email.html.clone(),
            sent_at: Timestamp::now(),
        };
        if self.print {
            // One write of the whole email, so that two printed at once do not interleave. A
            // closed stdout is no reason to fail the email: the mailbox still keeps it.
            let _ = std::io::stdout().lock().write_all(printout(&mail).as_bytes());
        }
        self.keep(mail);
        Ok(format!("dev-mailbox-{id}"))
    }
}
