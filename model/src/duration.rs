//! Human durations as written in the config (`30s`, `5m`, `2h`, `7d`).
//!
//! The original text is kept because outputs write windows "as in the config"
//! (contract section 8).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::{Nanos, NANOS_PER_SECOND};

/// A non-negative duration with the text it was written as.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Span {
    nanos: Nanos,
    text: String,
}

impl Span {
    pub fn parse(text: &str) -> Result<Span, String> {
        let trimmed = text.trim();
        let split = trimmed.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
            format!("duration {text:?} has no unit; write it like 30s, 5m, 2h or 7d")
        })?;
        let (digits, unit) = trimmed.split_at(split);
        if digits.is_empty() {
            return Err(format!(
                "duration {text:?} must start with a whole number, like 5m"
            ));
        }
        let amount: i64 = digits
            .parse()
            .map_err(|_| format!("duration {text:?} is too large"))?;
        let unit_nanos = match unit {
            "ms" => NANOS_PER_SECOND / 1000,
            "s" => NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "h" => 3600 * NANOS_PER_SECOND,
            "d" => 86_400 * NANOS_PER_SECOND,
            _ => {
                return Err(format!(
                    "duration {text:?} has unknown unit {unit:?}; use ms, s, m, h or d"
                ))
            }
        };
        let nanos = amount
            .checked_mul(unit_nanos)
            .ok_or_else(|| format!("duration {text:?} is too large"))?;
        Ok(Span {
            nanos,
            text: trimmed.to_string(),
        })
    }

    pub fn nanos(&self) -> Nanos {
        self.nanos
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn from_nanos(nanos: Nanos) -> Span {
        let text = if nanos % (86_400 * NANOS_PER_SECOND) == 0 && nanos != 0 {
            format!("{}d", nanos / (86_400 * NANOS_PER_SECOND))
        } else if nanos % (3600 * NANOS_PER_SECOND) == 0 && nanos != 0 {
            format!("{}h", nanos / (3600 * NANOS_PER_SECOND))
        } else if nanos % (60 * NANOS_PER_SECOND) == 0 && nanos != 0 {
            format!("{}m", nanos / (60 * NANOS_PER_SECOND))
        } else if nanos % NANOS_PER_SECOND == 0 {
            format!("{}s", nanos / NANOS_PER_SECOND)
        } else {
            format!("{}ms", nanos / (NANOS_PER_SECOND / 1000))
        };
        Span { nanos, text }
    }

    pub fn as_std(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.nanos.max(0) as u64)
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Span, D::Error> {
        let text = String::deserialize(deserializer)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_units() {
        assert_eq!(Span::parse("30s").unwrap().nanos(), 30 * NANOS_PER_SECOND);
        assert_eq!(Span::parse("5m").unwrap().nanos(), 300 * NANOS_PER_SECOND);
        assert_eq!(Span::parse("2h").unwrap().nanos(), 7200 * NANOS_PER_SECOND);
        assert_eq!(
            Span::parse("7d").unwrap().nanos(),
            7 * 86_400 * NANOS_PER_SECOND
        );
        assert_eq!(Span::parse("5m").unwrap().text(), "5m");
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(Span::parse("5").unwrap_err().contains("no unit"));
        assert!(Span::parse("m").unwrap_err().contains("whole number"));
        assert!(Span::parse("5y").unwrap_err().contains("unknown unit"));
        assert!(Span::parse("-5m").is_err());
    }
}
