//! A chatbot: one chat widget of a tenant, with its API key, the origins it may be embedded on,
//! its look, and its identity secret for signed visitor identity.
//!
//! The API key and identity secret are never stored: the key as a SHA-256 ([`ApiKeys`]), the
//! identity secret as the seed it is derived from ([`IdentitySeed`], see
//! [`crate::auth::IdentityKeys`]).

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};

use super::{ChatbotId, InvalidValue, Name, OriginPattern, TenantId, Timestamp};
use crate::auth::{ApiKey, secret::constant_time_eq};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chatbot {
    #[serde(rename = "_id")]
    pub id: ChatbotId,
    pub tenant_id: TenantId,
    pub name: Name,
    /// Where the widget may be embedded; empty allows nowhere.
    pub allowed_origins: Vec<OriginPattern>,
    pub settings: WidgetSettings,
    pub api_keys: ApiKeys,
    pub identity_secret: IdentitySeed,
    /// When set, a visitor session needs a valid identity signature.
    pub enforce_identity: bool,
    /// How its waiting chatrooms reach agents.
    #[serde(default)]
    pub routing: Routing,
    pub status: ChatbotStatus,
    /// Counts every change; key and secret rotations write only over the revision they read.
    pub revision: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Chatbot {
    /// A new active chatbot with `key` as its API key, allowed nowhere yet, with the default
    /// settings; the caller fills in the rest.
    pub fn new(id: ChatbotId, tenant_id: TenantId, name: Name, key: &ApiKey, identity_secret: IdentitySeed) -> Self {
        let now = Timestamp::now();
        Self {
            id,
            tenant_id,
            name,
            allowed_origins: Vec::new(),
            settings: WidgetSettings::default(),
            api_keys: ApiKeys::new(key, now),
            identity_secret,
            enforce_identity: false,
            routing: Routing::default(),
            status: ChatbotStatus::Active,
            revision: 0,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn allows_origin(&self, origin: Option<&super::Origin>) -> bool {
        self.allowed_origins.iter().any(|pattern| pattern.allows(origin))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatbotStatus {
    Active,
    /// The widget is refused (`chatbot_disabled`); nothing else changes.
    Disabled,
}

impl ChatbotStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// How a chatbot's waiting chatrooms reach agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Routing {
    pub mode: RoutingMode,
    /// How long an agent has to accept an offer before it passes to the next (automatic mode).
    #[schema(value_type = u32, minimum = 5, maximum = 300, example = 30)]
    pub offer_seconds: OfferSeconds,
}

impl Routing {
    pub fn is_automatic(&self) -> bool {
        self.mode == RoutingMode::Automatic
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoutingMode {
    /// Agents pick chatrooms from the queue.
    #[default]
    Manual,
    /// Parley offers each waiting chatroom to one available agent, fairly; they accept or decline.
    Automatic,
}

/// Seconds an offer stays open: 5 to 300.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct OfferSeconds(u32);

impl OfferSeconds {
    pub const MIN: u32 = 5;
    pub const MAX: u32 = 300;

    pub fn duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for OfferSeconds {
    fn default() -> Self {
        Self(30)
    }
}

impl TryFrom<u32> for OfferSeconds {
    type Error = InvalidValue;

    fn try_from(seconds: u32) -> Result<Self, Self::Error> {
        if (Self::MIN..=Self::MAX).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(InvalidValue(format!("an offer lasts {} to {} seconds", Self::MIN, Self::MAX)))
        }
    }
}

impl From<OfferSeconds> for u32 {
    fn from(seconds: OfferSeconds) -> u32 {
        seconds.0
    }
}

/// How the widget looks and greets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetSettings {
    /// The first thing a visitor reads when the widget opens.
    pub greeting: Text<500>,
    pub colour: Colour,
    pub position: Position,
    /// The label beside the launcher button.
    pub launcher_text: Text<40>,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        Self {
            greeting: Text("Thanks for reaching out! A live agent will join shortly.".into()),
            colour: Colour("#2563eb".into()),
            position: Position::BottomRight,
            launcher_text: Text("Chat with us".into()),
        }
    }
}

/// Plain text of 1 to `MAX` characters, trimmed; line breaks allowed, other control characters
/// not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> FromStr for Text<MAX> {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err(InvalidValue("cannot be empty".into()));
        }
        if text.chars().count() > MAX {
            return Err(InvalidValue(format!("has at most {MAX} characters")));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(InvalidValue("cannot contain control characters".into()));
        }
        Ok(Self(text.to_owned()))
    }
}

impl<const MAX: usize> TryFrom<String> for Text<MAX> {
    type Error = InvalidValue;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(text: Text<MAX>) -> String {
        text.0
    }
}

/// A colour as `#rrggbb` (stored lower-case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Colour(String);

impl Colour {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Colour {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        match hex {
            Some(hex) => Ok(Self(format!("#{}", hex.to_ascii_lowercase()))),
            None => Err(InvalidValue("a colour is written #rrggbb".into())),
        }
    }
}

super::text_value!(Colour);

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which bottom corner of the page the widget sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    BottomRight,
    BottomLeft,
}

impl Position {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BottomRight => "bottom-right",
            Self::BottomLeft => "bottom-left",
        }
    }
}

/// A chatbot's API keys, by hash: the current one, the one it replaced while its grace period
/// lasts, and the most recently revoked (so a revoked key is told apart from a wrong one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeys {
    /// `None` after a revocation, until the next rotation.
    #[serde(default)]
    pub current: Option<StoredApiKey>,
    /// The key the current one replaced; it works until `expires_at`.
    #[serde(default)]
    pub previous: Option<GraceApiKey>,
    /// Newest first, at most [`ApiKeys::REVOKED_KEPT`].
    #[serde(default)]
    pub revoked: Vec<RevokedApiKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredApiKey {
    /// SHA-256 of the key, hex.
    pub hash: String,
    /// The key's last four characters.
    pub hint: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraceApiKey {
    pub hash: String,
    pub hint: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedApiKey {
    pub hash: String,
    pub hint: String,
    pub revoked_at: Timestamp,
}

/// What a presented key is to its chatbot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStanding {
    /// The current key, or the previous one within its grace period.
    Valid,
    /// Revoked, or replaced and past its grace period.
    Revoked,
    /// Not one of this chatbot's keys.
    Unknown,
}

impl StoredApiKey {
    pub fn of(key: &ApiKey, now: Timestamp) -> Self {
        Self { hash: key.hash(), hint: key.hint(), created_at: now }
    }
}

impl ApiKeys {
    pub const REVOKED_KEPT: usize = 20;

    pub fn new(key: &ApiKey, now: Timestamp) -> Self {
        Self { current: Some(StoredApiKey::of(key, now)), previous: None, revoked: Vec::new() }
    }

    /// What the key with this hash is, at `now`. Every stored hash is compared in constant time.
    pub fn standing(&self, hash: &str, now: Timestamp) -> KeyStanding {
        if self.current.as_ref().is_some_and(|k| constant_time_eq(&k.hash, hash)) {
            return KeyStanding::Valid;
        }
        if let Some(previous) = self.previous.as_ref().filter(|k| constant_time_eq(&k.hash, hash)) {
            return if now < previous.expires_at { KeyStanding::Valid } else { KeyStanding::Revoked };
        }
        if self.revoked.iter().any(|k| constant_time_eq(&k.hash, hash)) {
            return KeyStanding::Revoked;
        }
        KeyStanding::Unknown
    }

    /// The keys after `new` replaces the current key, which keeps working for `grace` (none:
    /// revoked at once). A previous key still in its grace period is revoked now: only one old
    /// key works at a time.
    pub fn rotated(&self, new: &ApiKey, grace: Duration, now: Timestamp) -> Self {
        let mut revoked = Vec::new();
        if let Some(previous) = &self.previous {
            revoked.push(RevokedApiKey { hash: previous.hash.clone(), hint: previous.hint.clone(), revoked_at: now });
        }
        let grace = time::Duration::try_from(grace).unwrap_or(time::Duration::ZERO);
        let previous = match &self.current {
            Some(current) if grace.is_positive() => Some(GraceApiKey {
                hash: current.hash.clone(),
                hint: current.hint.clone(),
                expires_at: now.plus(grace),
            }),
            Some(current) => {
                revoked.push(RevokedApiKey { hash: current.hash.clone(), hint: current.hint.clone(), revoked_at: now });
                None
            }
            None => None,
        };
        Self { current: Some(StoredApiKey::of(new, now)), previous, revoked: self.keep_revoked(revoked) }
    }

    /// The keys after revoking every one that works: the chatbot has no key until it is rotated.
    pub fn revoked_all(&self, now: Timestamp) -> Self {
        let mut revoked = Vec::new();
        if let Some(current) = &self.current {
            revoked.push(RevokedApiKey { hash: current.hash.clone(), hint: current.hint.clone(), revoked_at: now });
        }
        if let Some(previous) = &self.previous {
            revoked.push(RevokedApiKey { hash: previous.hash.clone(), hint: previous.hint.clone(), revoked_at: now });
        }
        Self { current: None, previous: None, revoked: self.keep_revoked(revoked) }
    }

    /// `newly` (newest) before the keys revoked earlier, cut to [`ApiKeys::REVOKED_KEPT`].
    fn keep_revoked(&self, mut newly: Vec<RevokedApiKey>) -> Vec<RevokedApiKey> {
        newly.extend(self.revoked.iter().cloned());
        newly.truncate(Self::REVOKED_KEPT);
        newly
    }
}

/// What a chatbot's identity secret is derived from: the id of the server key and a random salt.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySeed {
    pub key_id: String,
    pub salt: String,
    pub created_at: Timestamp,
}

impl fmt::Debug for IdentitySeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentitySeed").field("key_id", &self.key_id).field("created_at", &self.created_at).finish()
    }
}

/// A partial update of a chatbot: `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatbotPatch {
    pub name: Option<Name>,
    pub allowed_origins: Option<Vec<OriginPattern>>,
    pub settings: Option<WidgetSettings>,
    pub enforce_identity: Option<bool>,
    pub routing: Option<Routing>,
    pub status: Option<ChatbotStatus>,
    pub api_keys: Option<ApiKeys>,
    pub identity_secret: Option<IdentitySeed>,
}

impl ChatbotPatch {
    /// The chatbot with this patch applied (what the repositories store), one revision on.
    pub fn apply(&self, chatbot: &Chatbot, now: Timestamp) -> Chatbot {
        let mut next = chatbot.clone();
        if let Some(name) = &self.name {
            next.name = name.clone();
        }
        if let Some(origins) = &self.allowed_origins {
            next.allowed_origins = origins.clone();
        }
        if let Some(settings) = &self.settings {
            next.settings = settings.clone();
        }
        if let Some(enforce) = self.enforce_identity {
            next.enforce_identity = enforce;
        }
        if let Some(routing) = self.routing {
            next.routing = routing;
        }
        if let Some(status) = self.status {
            next.status = status;
        }
        if let Some(keys) = &self.api_keys {
            next.api_keys = keys.clone();
        }
        if let Some(seed) = &self.identity_secret {
            next.identity_secret = seed.clone();
        }
        next.revision += 1;
        next.updated_at = now;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChatbotId;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn a_rotated_key_works_through_its_grace_period_then_is_revoked() {
        let (now, chatbot) = (Timestamp::now(), ChatbotId::new());
        let (first, second, third) = (ApiKey::generate(chatbot), ApiKey::generate(chatbot), ApiKey::generate(chatbot));
        let keys = ApiKeys::new(&first, now).rotated(&second, DAY, now);
        assert_eq!(keys.standing(&second.hash(), now), KeyStanding::Valid);
        assert_eq!(keys.standing(&first.hash(), now.plus(time::Duration::hours(23))), KeyStanding::Valid);
        assert_eq!(keys.standing(&first.hash(), now.plus(time::Duration::hours(24))), KeyStanding::Revoked);
        assert_eq!(keys.standing(&ApiKey::generate(chatbot).hash(), now), KeyStanding::Unknown);
        let keys = keys.rotated(&third, DAY, now);
        assert_eq!(keys.standing(&first.hash(), now), KeyStanding::Revoked, "one old key at a time");
        assert_eq!(keys.standing(&second.hash(), now), KeyStanding::Valid);
    }

    #[test]
    fn revoking_stops_every_key_at_once() {
        let (now, chatbot) = (Timestamp::now(), ChatbotId::new());
        let (first, second) = (ApiKey::generate(chatbot), ApiKey::generate(chatbot));
        let keys = ApiKeys::new(&first, now).rotated(&second, DAY, now).revoked_all(now);
        assert_eq!(keys.current, None);
        assert_eq!(keys.standing(&first.hash(), now), KeyStanding::Revoked);
        assert_eq!(keys.standing(&second.hash(), now), KeyStanding::Revoked);
        let zero_grace = ApiKeys::new(&first, now).rotated(&second, Duration::ZERO, now);
        assert_eq!(zero_grace.standing(&first.hash(), now), KeyStanding::Revoked);
    }

    #[test]
    fn the_revoked_list_is_bounded() {
        let (now, chatbot) = (Timestamp::now(), ChatbotId::new());
        let mut keys = ApiKeys::new(&ApiKey::generate(chatbot), now);
        for _ in 0..30 {
            keys = keys.rotated(&ApiKey::generate(chatbot), Duration::ZERO, now);
        }
        assert_eq!(keys.revoked.len(), ApiKeys::REVOKED_KEPT);
    }

    #[test]
    fn settings_values_are_checked() {
        assert_eq!("#AABBCC".parse::<Colour>().unwrap().as_str(), "#aabbcc");
        for bad in ["aabbcc", "#abc", "#gggggg", "#aabbccdd", ""] {
            assert!(bad.parse::<Colour>().is_err(), "{bad}");
        }
        assert!("Hello\nthere".parse::<Text<500>>().is_ok());
        assert!("   ".parse::<Text<40>>().is_err());
        assert!("x".repeat(41).parse::<Text<40>>().is_err());
        assert!("bell\u{7}".parse::<Text<40>>().is_err());
        let json = serde_json::to_value(WidgetSettings::default()).unwrap();
        assert_eq!(json["position"], "bottom-right");
        assert_eq!(json["launcherText"], "Chat with us");
    }
}
