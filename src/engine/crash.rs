//! Crash points: a test hook that stops the process dead at a named step of its work, as a
//! power cut or `kill -9` would, so the crash tests (tests/it/crash.rs) can prove that every
//! step is safe to die in.
//!
//! It does nothing unless the environment variable `LICENSEBOT_CRASH_AT` names a point when
//! the process starts (`LICENSEBOT_CRASH_AT=after_backend_call`, or `…@2` for the second time
//! the point is reached). The variable is read once, at start-up, into a static; a point not
//! armed costs one atomic load. Every point is named here and nowhere else.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The environment variable that arms a crash point.
pub const ENV: &str = "LICENSEBOT_CRASH_AT";

/// A step of the bot's work where a test may make it die.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// A decision (reaction) is committed: nothing said about it yet, its job not started.
    AfterDecisionStored,
    /// A job's backend work (the change and its read-back) has answered; its outcome is not
    /// stored.
    AfterBackendCall,
    /// A job's outcome is committed; what it has to say is not delivered yet.
    AfterOutcomeStored,
    /// A message (channel post or DM) was posted; the outbox does not know it yet.
    AfterMessagePosted,
    /// A scheduled action (a reminder, an escalation, an expiry) is committed with what it
    /// has to say; nothing of it delivered yet.
    AfterScheduleStored,
    /// A link's proof code is stored (as a hash) with its pending link; the mail carrying
    /// it is not sent yet.
    AfterLinkProofStored,
}

impl CrashPoint {
    /// Every crash point.
    pub const ALL: [CrashPoint; 6] = [
        CrashPoint::AfterDecisionStored,
        CrashPoint::AfterBackendCall,
        CrashPoint::AfterOutcomeStored,
        CrashPoint::AfterMessagePosted,
        CrashPoint::AfterScheduleStored,
        CrashPoint::AfterLinkProofStored,
    ];

    /// The name `LICENSEBOT_CRASH_AT` uses.
    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::AfterDecisionStored => "after_decision_stored",
            CrashPoint::AfterBackendCall => "after_backend_call",
            CrashPoint::AfterOutcomeStored => "after_outcome_stored",
            CrashPoint::AfterMessagePosted => "after_message_posted",
            CrashPoint::AfterScheduleStored => "after_schedule_stored",
            CrashPoint::AfterLinkProofStored => "after_link_proof_stored",
        }
    }
}

/// The armed point and on which visit it fires (1 = the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armed {
    /// The point.
    pub point: CrashPoint,
    /// The visit that crashes.
    pub visit: u32,
}

/// Reads a `LICENSEBOT_CRASH_AT` value: `name` or `name@N`.
pub fn parse(value: &str) -> Result<Armed, String> {
    let (name, visit) = match value.trim().split_once('@') {
        Some((name, n)) => match n.parse::<u32>() {
            Ok(v) if v >= 1 => (name, v),
            _ => {
                return Err(format!(
                    "{ENV}: {n:?} after @ is not a visit number (1, 2, …)"
                ))
            }
        },
        None => (value.trim(), 1),
    };
    CrashPoint::ALL
        .into_iter()
        .find(|p| p.name() == name)
        .map(|point| Armed { point, visit })
        .ok_or_else(|| {
            format!(
                "{ENV}: unknown crash point {name:?}; known: {}",
                CrashPoint::ALL.map(CrashPoint::name).join(", ")
            )
        })
}

static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
static VISITS: AtomicU32 = AtomicU32::new(0);

/// Reads `LICENSEBOT_CRASH_AT` once (later calls change nothing); returns what was armed. An
/// unset or empty variable arms nothing; an unknown point is an error.
pub fn arm_from_env() -> Result<Option<Armed>, String> {
    let armed = match std::env::var(ENV) {
        Ok(v) if !v.trim().is_empty() => Some(parse(&v)?),
        _ => None,
    };
    Ok(*ARMED.get_or_init(|| armed))
}

/// Dies here (`abort`, no clean-up, no flush) when this point is armed and this is its visit.
#[inline]
pub fn crash_point(point: CrashPoint) {
    if let Some(Some(armed)) = ARMED.get() {
        if armed.point == point && VISITS.fetch_add(1, Ordering::Relaxed) + 1 == armed.visit {
            eprintln!("licensebot: crash point {} reached: aborting", point.name());
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_arms_its_first_visit() {
        assert_eq!(
            parse("after_backend_call"),
            Ok(Armed {
                point: CrashPoint::AfterBackendCall,
                visit: 1
            })
        );
    }

    #[test]
    fn a_visit_number_follows_an_at_sign() {
        assert_eq!(parse("after_outcome_stored@2").map(|a| a.visit), Ok(2));
    }

    #[test]
    fn unknown_points_and_bad_visits_are_refused_with_the_known_names() {
        let e = parse("after_lunch").unwrap_err();
        assert!(
            e.contains("after_decision_stored") && e.contains(ENV),
            "{e}"
        );
        assert!(parse("after_backend_call@0").is_err());
        assert!(parse("after_backend_call@x").is_err());
    }

    #[test]
    fn every_point_parses_back_from_its_name() {
        for p in CrashPoint::ALL {
            assert_eq!(parse(p.name()).map(|a| a.point), Ok(p));
        }
    }
}
