//! Identifiers of requests, stages, chat users, channels and chat messages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// The number of a licensing request, shown to people as `#12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub i64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl FromStr for RequestId {
    type Err = ParseError;

    /// Accepts `12` and `#12`; ids are positive and fit in an `i64`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().trim_start_matches('#');
        match digits.parse::<i64>() {
            Ok(n) if n > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(RequestId(n)),
            _ => Err(ParseError(format!("`{s}` is not a request number"))),
        }
    }
}

/// The number of one approval stage of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageId(pub i64);

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps a transport-given identifier.
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            /// The identifier as the transport knows it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A chat account: a console name such as `alice`, or a Discord user id.
    ChatUserId
);
string_id!(
    /// A chat channel: a console channel name or a Discord channel id.
    ChannelRef
);
string_id!(
    /// A chat message id as the transport assigned it (`m7` on the console).
    MessageRef
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_accepts_hash_prefix() {
        assert_eq!("#12".parse::<RequestId>(), Ok(RequestId(12)));
        assert_eq!("12".parse::<RequestId>(), Ok(RequestId(12)));
    }

    #[test]
    fn request_id_rejects_zero_signs_and_overflow() {
        for bad in ["0", "-1", "+3", "99999999999999999999", "", "#", "1a"] {
            assert!(bad.parse::<RequestId>().is_err(), "{bad}");
        }
    }
}
