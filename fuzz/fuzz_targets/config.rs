//! The settings loader (TOML over the embedded default, validation) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licensebot::config::Settings;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = Settings::load_from_text("fuzz.toml", &text, &[]) {
        assert!(!e.problems.is_empty(), "an error names at least one problem");
    }
});
