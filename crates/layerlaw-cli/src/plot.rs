//! Line and scatter charts written as SVG or PNG (chosen by the file extension).
//!
//! Text is laid out with a bundled DejaVu Sans font through `ab_glyph`, so plots render the same on any machine,
//! with no system font library.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::CliError;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Points joined by a line.
    LinePoints,
    /// A line only (e.g. a fitted line).
    Line,
    /// Dashed-looking thin line (drawn lighter).
    ThinLine,
    /// Points only.
    Points,
}

/// One named series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// The points; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// How to draw it.
    pub mark: Mark,
}

/// A chart: title, axis labels and series.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    /// Caption over the plot.
    pub title: String,
    /// X-axis label.
    pub x_label: String,
    /// Y-axis label.
    pub y_label: String,
    /// The series, drawn in order with a fixed palette.
    pub series: Vec<Series>,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn register_font() {
    REGISTER.call_once(|| {
        // The bundled font is a valid TrueType file; failure here would be a build defect.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Writes `chart` to `path` (`.svg` or `.png`, 900×600 pixels).
pub fn render(chart: &Chart, path: &Path) -> Result<(), CliError> {
    register_font();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let size = (900, 600);
    let result = match ext.as_str() {
        "svg" => draw(SVGBackend::new(path, size).into_drawing_area(), chart),
        "png" => draw(BitMapBackend::new(path, size).into_drawing_area(), chart),
        _ => {
            return Err(CliError::Plot {
                path: path.to_path_buf(),
                reason: "the plot file must end in .svg or .png".into(),
            })
        }
    };
    result.map_err(|reason| CliError::Plot {
        path: path.to_path_buf(),
        reason,
    })
}

fn bounds(chart: &Chart) -> ((f64, f64), (f64, f64)) {
    let pts = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        return ((0.0, 1.0), (0.0, 1.0));
    }
    let pad = |a: f64, b: f64| {
        let span = if (b - a).abs() < 1e-12 { 1.0 } else { b - a };
        (a - 0.05 * span, b + 0.05 * span)
    };
    (pad(x0, x1), pad(y0, y1))
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &Chart,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let ((x0, x1), (y0, y1)) = bounds(chart);
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, s) in chart.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let legend_color = color;
        match s.mark {
            Mark::Line | Mark::LinePoints => {
                ctx.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(err)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], legend_color.stroke_width(2))
                    });
                if s.mark == Mark::LinePoints {
                    ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                        .map_err(err)?;
                }
            }
            Mark::ThinLine => {
                ctx.draw_series(LineSeries::new(pts.clone(), color.mix(0.6).stroke_width(1)))
                    .map_err(err)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], legend_color.mix(0.6))
                    });
            }
            Mark::Points => {
                ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(err)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 4, legend_color.filled()));
            }
        }
    }
    if chart.series.len() > 1 || chart.series.iter().any(|s| !s.name.is_empty()) {
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_svg_and_png_with_text() {
        let dir = tempfile::tempdir().unwrap();
        let chart = Chart {
            title: "ln D".into(),
            x_label: "layer".into(),
            y_label: "ln D".into(),
            series: vec![
                Series {
                    name: "measured".into(),
                    points: vec![(0.0, 3.0), (1.0, 2.0), (2.0, 1.1)],
                    mark: Mark::Points,
                },
                Series {
                    name: "fit".into(),
                    points: vec![(0.0, 3.0), (2.0, 1.0)],
                    mark: Mark::Line,
                },
            ],
        };
        let svg = dir.path().join("a.svg");
        render(&chart, &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg") && text.contains("measured"));
        let png = dir.path().join("a.png");
        render(&chart, &png).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(render(&chart, &dir.path().join("a.pdf")).is_err());
    }
}
