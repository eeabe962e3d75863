//! The chat messages both parser benchmarks feed the parser: real commands, plain chat and
//! hostile text, in the proportions a busy channel might show.

/// The mix, one message each.
pub fn mixed() -> Vec<String> {
    vec![
        "!pro request because I build the sales reports".into(),
        "!pro request for alice@contoso.example new analyst in finance".into(),
        "!pro assign alice@contoso.example, bob@contoso.example @carol <@!123456789012345678>"
            .into(),
        "!pro buy 5 annual".into(),
        "!pro status #12".into(),
        "!PRO  link   Alice@Contoso.Example".into(),
        "can I get a Power BI Pro license?".into(),
        "lunch anyone?".into(),
        "!pro req\u{200b}uest \u{201c}for the dashboards\u{201d}".into(),
        "!pro frobnicate the thing".into(),
        format!("!pro request {}", "x".repeat(600)),
        "@licensebot help request".into(),
    ]
}

/// The parser settings of a bot on Discord: the prefix and its mention forms.
pub fn config() -> licensebot::command::ParserConfig {
    licensebot::command::ParserConfig {
        prefix: "!pro".into(),
        bot_mentions: vec![
            "@licensebot".into(),
            "<@123456>".into(),
            "<@!123456>".into(),
        ],
    }
}
