//! Identifiers of requests, stages, chat users, channels and chat messages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// An id newtype: a public wrapper around the value it identifies by, compared, ordered and
/// hashed as that value, serialised as it (`#[serde(transparent)]`) and shown through
/// `$shown`. Number ids are `Copy`.
macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty) $(: $copy:ident)?, shown as $shown:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, $($copy,)? PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, $shown, self.0)
            }
        }
    };
}

id_newtype!(
    /// The number of a licensing request, shown to people as `#12`.
    RequestId(i64): Copy, shown as "#{}"
);

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

id_newtype!(
    /// The number of one approval stage of a request.
    StageId(i64): Copy, shown as "{}"
);

/// An id newtype around the text a chat transport identifies something by.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        id_newtype!($(#[$doc])* $name(String), shown as "{}");

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
