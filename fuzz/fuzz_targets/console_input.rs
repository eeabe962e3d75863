//! The console's JSONL and human-mode readers on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licensebot::chat::console::Input;
use licensebot::domain::ChannelRef;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _json = Input::from_json(&text);
    let _human = Input::from_human(&text, &ChannelRef("general".into()));
});
