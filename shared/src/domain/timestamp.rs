//! Points in time, to the millisecond (what BSON stores).
//!
//! One type for both worlds: in JSON (human-readable formats) a `Timestamp` is an RFC 3339
//! string such as `"2026-11-25T10:15:30.123Z"`; in BSON it is a native date, so MongoDB can sort
//! and range-query it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_unix_millis(bson::DateTime::now().timestamp_millis())
    }

    pub fn from_unix_millis(millis: i64) -> Self {
        let nanos = i128::from(millis) * 1_000_000;
        Self(OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    pub fn to_bson(self) -> bson::DateTime {
        bson::DateTime::from_millis(self.unix_millis())
    }

    pub fn plus(self, duration: Duration) -> Self {
        Self::from_unix_millis(self.unix_millis() + duration.whole_milliseconds() as i64)
    }

    /// [`Timestamp::plus`] for a `std::time::Duration` (configured timeouts and TTLs).
    pub fn plus_std(self, duration: std::time::Duration) -> Self {
        self.plus(Duration::try_from(duration).unwrap_or(Duration::MAX))
    }

    /// The instant `duration` before this one.
    pub fn minus_std(self, duration: std::time::Duration) -> Self {
        self.plus(-Duration::try_from(duration).unwrap_or(Duration::MAX))
    }

    /// RFC 3339 in UTC, e.g. `2026-11-25T10:15:30.123Z`.
    pub fn to_rfc3339(&self) -> String {
        self.0.format(&Rfc3339).unwrap_or_default()
    }
}

/// The instant, to the millisecond (rounded down).
impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self::from_unix_millis((at.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

impl From<Timestamp> for bson::Bson {
    fn from(ts: Timestamp) -> Self {
        bson::Bson::DateTime(ts.to_bson())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_rfc3339())
        } else {
            self.to_bson().serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            let parsed = OffsetDateTime::parse(&text, &Rfc3339)
                .map_err(|_| D::Error::custom("expected an RFC 3339 timestamp such as 2026-11-25T10:15:30Z"))?;
            Ok(Self::from(parsed))
        } else {
            Ok(Self::from_unix_millis(bson::DateTime::deserialize(deserializer)?.timestamp_millis()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_carries_rfc3339_and_bson_a_native_date() {
        let ts = Timestamp::from_unix_millis(1_764_065_730_123);
        assert_eq!(serde_json::to_string(&ts).unwrap(), "\"2025-11-25T10:15:30.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>("\"2025-11-25T10:15:30.123Z\"").unwrap(), ts);

        let doc = bson::to_document(&bson::doc! { "at": ts }).unwrap();
        assert_eq!(doc.get("at"), Some(&bson::Bson::DateTime(bson::DateTime::from_millis(1_764_065_730_123))));

        #[derive(Serialize, Deserialize)]
        struct Holder {
            at: Timestamp,
        }
        let bytes = bson::to_vec(&Holder { at: ts }).unwrap();
        let raw = bson::RawDocumentBuf::from_bytes(bytes.clone()).unwrap();
        assert!(matches!(raw.get("at").unwrap(), Some(bson::RawBsonRef::DateTime(_))));
        assert_eq!(bson::from_slice::<Holder>(&bytes).unwrap().at, ts);
    }
}
