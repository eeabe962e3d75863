//! Domain types: identifiers, directory names, request and stage state machines, identity
//! links. No I/O.

/// A closed list of words as an enum: each variant stands for one word, listed in `ALL`,
/// given by `as_str` and shown by `Display`. The caller adds the derives and how the words are
/// parsed (see `word_enum!` and `setting_enum!` below).
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word the value stands for.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use words;

/// An enum of words: each variant has the word stored in the database and shown in JSON,
/// parsed back case-insensitively.
macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        words!(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
            #[serde(rename_all = "snake_case")]
            $name { $($(#[$vdoc])* $variant => $word),+ }
        );

        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(|| {
                        let words: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        ParseError(format!("`{t}` is not one of {}", words.join(", ")))
                    })
            }
        }
    };
}

/// A closed list of words a setting takes: written exactly as listed, travelling as its word
/// (see `text_value!`), so a wrong value is named in the problem.
macro_rules! setting_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $crate::domain::words!(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            $name { $($(#[$vdoc])* $variant => $word),+ }
        );

        impl std::str::FromStr for $name {
            type Err = $crate::domain::ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::domain::ParseError($crate::domain::unknown_word(s, $name::ALL.iter().map(|v| v.as_str()))))
            }
        }

        $crate::domain::text_value!($name);
    };
}
pub(crate) use setting_enum;

/// A value that travels as its text: serialised through `Display`, read back through
/// `FromStr` from a string (rather than serde's own enum or newtype support, whose TOML error
/// for a value of the wrong type does not say what was found).
macro_rules! text_value {
    ($name:ty) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use text_value;

/// Text checked on the way in: a newtype around a `String` made only by the type's `parse`
/// (which checks and normalises it), read back by `as_str`, shown as itself, parsed by
/// `FromStr` and travelling as its text.
macro_rules! checked_text {
    ($name:ident) => {
        impl $name {
            /// The checked, normalised text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        $crate::domain::text_value!($name);
    };
}
pub(crate) use checked_text;

mod audit;
mod drift;
mod group;
mod ids;
mod language;
mod link;
mod month;
mod picture;
mod request;
mod role;
mod seats;
mod term;
mod upn;

pub use audit::{Actor, AuditAction};
pub use drift::DriftKind;
pub use group::GroupFlags;
pub use ids::{ChannelRef, ChatUserId, MessageRef, RequestId, StageId};
pub use language::Language;
pub use link::{LinkMethod, LinkProof, LinkState};
pub use month::Month;
pub use picture::Picture;
pub use request::{
    BillingCycle, CountryCode, DecisionSource, RequestKind, RequestState, StageKind, StageState,
    UserType,
};
pub use role::{DirectoryRole, RoleSet};
pub use seats::SeatDay;
pub use term::Term;
pub use upn::{Upn, UpnProblem};

/// A value that failed to parse into a domain type; the text is safe to show in chat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// `"x" is not one of "a", "b"`: the problem of a word outside a closed list.
pub fn unknown_word<'a>(s: &str, words: impl Iterator<Item = &'a str>) -> String {
    let words: Vec<String> = words.map(|w| format!("{w:?}")).collect();
    format!("{s:?} is not one of {}", words.join(", "))
}
