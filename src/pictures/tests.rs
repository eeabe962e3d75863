use chrono::NaiveDate;

use super::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn words() -> SeatChartWords {
    SeatChartWords {
        title: "Power BI Pro seats".into(),
        bought: "bought".into(),
        assigned: "assigned".into(),
        pending: "pending".into(),
    }
}

/// The picture's size and its RGB pixels, read back with the PNG decoder.
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("the picture");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

fn count(pixels: &[u8], color: RGBColor) -> usize {
    pixels
        .chunks_exact(3)
        .filter(|p| p == &[color.0, color.1, color.2])
        .count()
}

fn rows_with_ink(pixels: &[u8], width: u32, rows: std::ops::Range<u32>) -> usize {
    rows.filter(|y| {
        let row = &pixels[(*y * width * 3) as usize..((*y + 1) * width * 3) as usize];
        row.chunks_exact(3).any(|p| p.iter().all(|c| *c < 100))
    })
    .count()
}

#[test]
fn the_seat_chart_draws_each_series_and_its_words() {
    let days = [
        SeatDay {
            day: day(1),
            bought: 10,
            assigned: 6,
            pending: 1,
        },
        SeatDay {
            day: day(5),
            bought: 10,
            assigned: 8,
            pending: 3,
        },
        SeatDay {
            day: day(20),
            bought: 15,
            assigned: 12,
            pending: 0,
        },
    ];
    let label = |d: NaiveDate| d.format("%d-%m").to_string();
    let png_bytes = seat_chart(&SeatChart {
        words: &words(),
        span: (day(1), day(30)),
        days: &days,
        day_label: &label,
        spend: None,
    })
    .unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
    let (width, height, pixels) = decode(&png_bytes);
    assert_eq!((width, height), (WIDTH, SEATS_HEIGHT));
    for color in [BOUGHT, ASSIGNED, PENDING] {
        assert!(count(&pixels, color) > 50, "{color:?} is drawn");
    }
    assert_eq!(count(&pixels, SPENT), 0, "no spend panel without a budget");
    // The caption is written in the bundled typeface: dark pixels in its rows.
    assert!(
        rows_with_ink(&pixels, width, 0..40) > 8,
        "the caption is written"
    );
}

#[test]
fn the_spend_panel_is_drawn_below_when_there_is_a_budget() {
    let days = [SeatDay {
        day: day(3),
        bought: 2,
        assigned: 2,
        pending: 0,
    }];
    let label = |d: NaiveDate| d.format("%b %-d").to_string();
    let panel = SpendPanel {
        title: "Spend per month".into(),
        budget_name: "budget".into(),
        budget: 100.0,
        months: vec![("2026-10".into(), 42.0), ("2026-11".into(), 140.0)],
    };
    let png_bytes = seat_chart(&SeatChart {
        words: &words(),
        span: (day(1), day(30)),
        days: &days,
        day_label: &label,
        spend: Some(&panel),
    })
    .unwrap();
    let (width, height, pixels) = decode(&png_bytes);
    assert_eq!((width, height), (WIDTH, SEATS_HEIGHT + SPEND_HEIGHT));
    let below = &pixels[(SEATS_HEIGHT * width * 3) as usize..];
    assert!(count(below, SPENT) > 500, "the bars are drawn");
    assert!(count(below, BUDGET) > 100, "the budget line is drawn");
    // One day read: its dot still shows.
    let above = &pixels[..(SEATS_HEIGHT * width * 3) as usize];
    assert!(count(above, BOUGHT) > 0 || count(above, ASSIGNED) > 0);
}

#[test]
fn a_chart_without_any_reading_is_still_a_picture() {
    let label = |d: NaiveDate| d.to_string();
    let png_bytes = seat_chart(&SeatChart {
        words: &words(),
        span: (day(30), day(30)),
        days: &[],
        day_label: &label,
        spend: None,
    })
    .unwrap();
    let (width, height, _) = decode(&png_bytes);
    assert_eq!((width, height), (WIDTH, SEATS_HEIGHT));
}
