//! `[alerts]`: when the seats call for a message in the approvals channel. Both keys are
//! optional; 0, or leaving a key out, turns that alert off.

use serde::{Deserialize, Serialize};

use super::load::Loader;

/// `[alerts]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct AlertSettings {
    /// Alert while fewer seats than this are free (bought and not assigned); 0 is off.
    #[serde(default)]
    pub free_seats_below: u32,
    /// Alert while more than this share of the seats bought is assigned, in percent (1 to
    /// 100); 0 is off.
    #[serde(default)]
    pub usage_above_percent: u32,
}

impl AlertSettings {
    /// The free-seat threshold, when that alert is on.
    pub fn free_seats_below(&self) -> Option<u32> {
        (self.free_seats_below > 0).then_some(self.free_seats_below)
    }

    /// The usage threshold in percent, when that alert is on.
    pub fn usage_above_percent(&self) -> Option<u32> {
        (self.usage_above_percent > 0).then_some(self.usage_above_percent)
    }

    /// What `check-config` shows of them.
    pub(super) fn summary(&self) -> String {
        let mut on = Vec::new();
        if let Some(n) = self.free_seats_below() {
            on.push(format!("fewer than {n} seat(s) free"));
        }
        if let Some(p) = self.usage_above_percent() {
            on.push(format!("more than {p} % of the seats in use"));
        }
        if on.is_empty() {
            "seat alerts: off".to_string()
        } else {
            format!("seat alerts: while {}", on.join(" or "))
        }
    }
}

impl Loader {
    /// A percentage lies between 1 and 100 (0 is off).
    pub(super) fn check_alerts(&mut self, a: &AlertSettings) {
        let p = a.usage_above_percent;
        if p > 100 {
            self.problem(
                "alerts.usage_above_percent",
                format!(
                    "{p} is not a percentage between 1 and 100; 0, or leaving the key out, \
                     turns the usage alert off"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AlertSettings;
    use crate::config::Settings;

    fn load(text: &str) -> Result<Settings, crate::config::ConfigError> {
        Settings::load_from_text("alerts.toml", text, &[])
    }

    #[test]
    fn alerts_are_off_unless_configured() {
        let s = Settings::embedded_default();
        assert_eq!(s.alerts, AlertSettings::default());
        assert_eq!(s.alerts.free_seats_below(), None);
        assert_eq!(s.alerts.usage_above_percent(), None);
    }

    #[test]
    fn alert_thresholds_load_and_zero_is_off() {
        let s = load("[alerts]\nfree_seats_below = 2\nusage_above_percent = 0\n").unwrap();
        assert_eq!(s.alerts.free_seats_below(), Some(2));
        assert_eq!(s.alerts.usage_above_percent(), None);
        assert!(s
            .summary()
            .contains("seat alerts: while fewer than 2 seat(s) free"));
    }

    #[test]
    fn alert_usage_over_a_hundred_percent_is_refused_naming_the_key() {
        let e = load("[alerts]\nusage_above_percent = 120\n").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("alerts.usage_above_percent"), "{text}");
        assert!(
            text.contains("120 is not a percentage between 1 and 100"),
            "{text}"
        );
        assert!(text.contains("alerts.toml"), "names the file: {text}");
    }

    #[test]
    fn alert_usage_of_a_hundred_percent_is_taken() {
        let s = load("[alerts]\nusage_above_percent = 100\n").unwrap();
        assert_eq!(s.alerts.usage_above_percent(), Some(100));
    }

    #[test]
    fn alert_thresholds_are_whole_numbers_not_below_zero() {
        let e = load("[alerts]\nfree_seats_below = -1\n").unwrap_err();
        assert!(e.to_string().contains("alerts.free_seats_below"), "{e}");
    }

    #[test]
    fn alert_thresholds_come_from_the_environment_too() {
        let env = [(
            "LICENSEBOT__ALERTS__USAGE_ABOVE_PERCENT".to_string(),
            "90".to_string(),
        )];
        let s = Settings::load_from_text("alerts.toml", "", &env).unwrap();
        assert_eq!(s.alerts.usage_above_percent(), Some(90));
    }
}
