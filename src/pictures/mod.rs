//! Pictures, drawn in memory: the seat chart `!pro seats` attaches. A leaf like `texts`: it
//! is given the numbers and the words (already in the reader's language) and returns PNG
//! bytes. The typeface is bundled (`epaint_default_fonts`' Ubuntu Light), so no system font
//! is needed; the pixels go to the `png` encoder, so no image crate is either.

use std::sync::OnceLock;

use chrono::{Duration, NaiveDate};
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::domain::SeatDay;

/// The family name the bundled typeface is registered under.
const FONT: &str = "licensebot-sans";
/// The picture's width in pixels.
const WIDTH: u32 = 800;
/// The seats panel's height in pixels.
const SEATS_HEIGHT: u32 = 400;
/// The spend panel's height in pixels, when there is one.
const SPEND_HEIGHT: u32 = 260;

const BOUGHT: RGBColor = RGBColor(31, 119, 180);
const ASSIGNED: RGBColor = RGBColor(44, 160, 44);
const PENDING: RGBColor = RGBColor(255, 127, 14);
const SPENT: RGBColor = RGBColor(148, 103, 189);
const BUDGET: RGBColor = RGBColor(214, 39, 40);

/// Why a picture could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// The bundled typeface did not load.
    #[error("the bundled typeface did not load")]
    Font,
    /// Drawing failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
}

/// The words on the seat chart, in the reader's language.
#[derive(Debug, Clone)]
pub struct SeatChartWords {
    /// The seats panel's caption.
    pub title: String,
    /// The bought series' name.
    pub bought: String,
    /// The assigned series' name.
    pub assigned: String,
    /// The pending requests series' name.
    pub pending: String,
}

/// The spend panel: what was spent per month against the monthly budget.
#[derive(Debug, Clone)]
pub struct SpendPanel {
    /// Its caption.
    pub title: String,
    /// The budget line's name.
    pub budget_name: String,
    /// The monthly budget.
    pub budget: f64,
    /// Each month's name and spend, oldest first.
    pub months: Vec<(String, f64)>,
}

/// What the seat chart shows.
pub struct SeatChart<'a> {
    /// Its words.
    pub words: &'a SeatChartWords,
    /// The first and last day drawn.
    pub span: (NaiveDate, NaiveDate),
    /// The days read, oldest first (a day without a reading is left out).
    pub days: &'a [SeatDay],
    /// A day as the reader writes it (the x axis' labels).
    pub day_label: &'a (dyn Fn(NaiveDate) -> String + Sync),
    /// Spend per month, when a budget is set.
    pub spend: Option<&'a SpendPanel>,
}

/// Draws the seat chart as a PNG: seats bought and assigned and requests pending per day,
/// and below it spend per month against the budget when there is a spend panel.
pub fn seat_chart(chart: &SeatChart<'_>) -> Result<Vec<u8>, PictureError> {
    font()?;
    let height = SEATS_HEIGHT + chart.spend.map_or(0, |_| SPEND_HEIGHT);
    let mut pixels = vec![255u8; (WIDTH * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw)?;
        let (seats, spend) = root.split_vertically(SEATS_HEIGHT);
        seats_panel(&seats, chart)?;
        if let Some(panel) = chart.spend {
            spend_panel(&spend, panel)?;
        }
        root.present().map_err(draw)?;
    }
    encode(&pixels, WIDTH, height)
}

/// Registers the bundled typeface once.
fn font() -> Result<(), PictureError> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    let ok = *LOADED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT).is_ok()
    });
    ok.then_some(()).ok_or(PictureError::Font)
}

fn draw(e: impl std::fmt::Display) -> PictureError {
    PictureError::Draw(e.to_string())
}

type Area<'b> = DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>;

/// A line of the seats panel: its name, its colour and its value on a day.
type Series<'w> = (&'w str, RGBColor, fn(&SeatDay) -> i64);

/// The upper panel: one line a series over the days, a dot on each day read.
fn seats_panel(area: &Area<'_>, c: &SeatChart<'_>) -> Result<(), PictureError> {
    let (first, last) = c.span;
    let span = (last - first).num_days().max(1);
    let top = c
        .days
        .iter()
        .map(|d| d.bought.max(d.assigned).max(d.pending))
        .max()
        .unwrap_or(0);
    // Room above the highest line for the legend.
    let y_max = top + (top * 2 / 5).max(2);
    let mut chart = ChartBuilder::on(area)
        .caption(&c.words.title, (FONT, 22))
        .margin(14)
        .x_label_area_size(28)
        .y_label_area_size(40)
        .build_cartesian_2d(0..span, 0..y_max)
        .map_err(draw)?;
    let label = |d: &i64| (c.day_label)(first + Duration::days(*d));
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&label)
        .label_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw)?;
    let series: [Series<'_>; 3] = [
        (&c.words.bought, BOUGHT, |d| d.bought),
        (&c.words.assigned, ASSIGNED, |d| d.assigned),
        (&c.words.pending, PENDING, |d| d.pending),
    ];
    for (name, color, value) in series {
        let points: Vec<(i64, i64)> = c
            .days
            .iter()
            .map(|d| ((d.day - first).num_days(), value(d)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(draw)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(draw)?;
    }
    legend(&mut chart)
}

/// The lower panel: a bar a month, and the budget as a line across.
fn spend_panel(area: &Area<'_>, panel: &SpendPanel) -> Result<(), PictureError> {
    let months = panel.months.len().max(1) as f64;
    let top = panel
        .months
        .iter()
        .map(|(_, spent)| *spent)
        .fold(panel.budget, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 18))
        .margin(14)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..months, 0.0..top * 1.4 + 1.0)
        .map_err(draw)?;
    let names: Vec<&str> = panel.months.iter().map(|(m, _)| m.as_str()).collect();
    // A label at each bar's middle, nowhere else.
    let month_label = |x: &f64| {
        let i = x.floor();
        let middle = (x - i - 0.5).abs() < 1e-6;
        match names.get(i as usize) {
            Some(name) if middle => (*name).to_string(),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(names.len() * 2 + 1)
        .x_label_formatter(&month_label)
        .y_labels(5)
        .label_style((FONT, 16))
        .light_line_style(WHITE)
        .draw()
        .map_err(draw)?;
    chart
        .draw_series(panel.months.iter().enumerate().map(|(i, (_, spent))| {
            let x = i as f64;
            Rectangle::new([(x + 0.2, 0.0), (x + 0.8, *spent)], SPENT.filled())
        }))
        .map_err(draw)?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, panel.budget), (months, panel.budget)],
            BUDGET.stroke_width(2),
        ))
        .map_err(draw)?
        .label(&panel.budget_name)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BUDGET.stroke_width(3)));
    legend(&mut chart)
}

/// The names of a panel's lines, at its upper left.
fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
) -> Result<(), PictureError> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(draw)
}

/// The RGB pixels as a PNG file.
fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PictureError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests;
