//! The chat command parser and the reaction parser on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licensebot::command::{parse_message, parse_reaction, ParserConfig};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cfg = ParserConfig {
        prefix: "!pro".into(),
        bot_mentions: vec!["@licensebot".into(), "<@123456>".into(), "<@!123456>".into()],
    };
    let _parsed = parse_message(&text, &cfg);
    let approve = ["✅".to_string(), "👍".to_string()];
    let deny = ["❌".to_string(), "👎".to_string()];
    let _verdict = parse_reaction(&text, &approve, &deny);
});
