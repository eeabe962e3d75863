//! Parser throughput with criterion: a mix of real commands, plain chat and hostile text.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use licensebot::command::{parse_message, ParserConfig};

fn messages() -> Vec<String> {
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

fn parser(c: &mut Criterion) {
    let cfg = ParserConfig {
        prefix: "!pro".into(),
        bot_mentions: vec![
            "@licensebot".into(),
            "<@123456>".into(),
            "<@!123456>".into(),
        ],
    };
    let msgs = messages();
    let mut group = c.benchmark_group("parser");
    group.throughput(Throughput::Elements(msgs.len() as u64));
    group.bench_function("mixed_messages", |b| {
        b.iter(|| {
            for m in &msgs {
                std::hint::black_box(parse_message(std::hint::black_box(m), &cfg));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parser);
criterion_main!(benches);
