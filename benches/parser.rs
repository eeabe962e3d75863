//! Parser throughput with criterion: a mix of real commands, plain chat and hostile text
//! (the same mix `benches/load.rs` times for its `parser_msgs_per_s`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use licensebot::command::parse_message;

#[path = "common/messages.rs"]
mod messages;

fn parser(c: &mut Criterion) {
    let cfg = messages::config();
    let msgs = messages::mixed();
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
