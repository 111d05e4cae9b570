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
    /// Hollow grey points (e.g. layers left out of a fit), whatever the series' place.
    Hollow,
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
    /// Series of a lower panel under the chart sharing its x axis (e.g. residuals), with a
    /// zero line; no panel when empty.
    pub lower: Vec<Series>,
    /// Y-axis label of the lower panel.
    pub lower_label: String,
}

const GREY: RGBColor = RGBColor(150, 150, 150);

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

fn bounds(series: &[&[Series]]) -> ((f64, f64), (f64, f64)) {
    let pts = series
        .iter()
        .flat_map(|s| s.iter())
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
    let ((x0, x1), _) = bounds(&[&chart.series, &chart.lower]);
    let (_, (y0, y1)) = bounds(&[&chart.series]);
    let (upper, lower) = if chart.lower.is_empty() {
        (root.clone(), None)
    } else {
        let height = root.dim_in_pixel().1;
        let (a, b) = root.split_vertically(height * 13 / 20);
        (a, Some(b))
    };
    panel(
        &upper,
        Some(&chart.title),
        (x0, x1),
        (y0, y1),
        if lower.is_some() { "" } else { &chart.x_label },
        &chart.y_label,
        &chart.series,
        SeriesLabelPosition::UpperRight,
    )?;
    if let Some(area) = lower {
        let (_, (r0, r1)) = bounds(&[&chart.lower, &[zero_line(x0, x1)]]);
        let mut series = chart.lower.clone();
        series.push(zero_line(x0, x1));
        panel(
            &area,
            None,
            (x0, x1),
            (r0, r1),
            &chart.x_label,
            &chart.lower_label,
            &series,
            SeriesLabelPosition::LowerRight,
        )?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// The y = 0 reference line of a lower panel (unnamed, so not in the legend).
fn zero_line(x0: f64, x1: f64) -> Series {
    Series {
        name: String::new(),
        points: vec![(x0, 0.0), (x1, 0.0)],
        mark: Mark::ThinLine,
    }
}

#[allow(clippy::too_many_arguments)]
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: Option<&str>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    x_label: &str,
    y_label: &str,
    series: &[Series],
    legend: SeriesLabelPosition,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut builder = ChartBuilder::on(area);
    if let Some(title) = title {
        builder.caption(title, ("sans-serif", 24));
    }
    let mut ctx = builder
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    ctx.configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, s) in series.iter().enumerate() {
        let color = if s.name.is_empty() && s.mark == Mark::ThinLine {
            BLACK.mix(0.5).to_rgba()
        } else {
            PALETTE[i % PALETTE.len()].to_rgba()
        };
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let legend_color = color;
        let name = s.name.clone();
        let labelled = !name.is_empty();
        match s.mark {
            Mark::Line | Mark::LinePoints => {
                let drawn = ctx
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(err)?;
                if labelled {
                    drawn.label(name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], legend_color.stroke_width(2))
                    });
                }
                if s.mark == Mark::LinePoints {
                    ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                        .map_err(err)?;
                }
            }
            Mark::ThinLine => {
                let drawn = ctx
                    .draw_series(LineSeries::new(pts.clone(), color.mix(0.6).stroke_width(1)))
                    .map_err(err)?;
                if labelled {
                    drawn.label(name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], legend_color.mix(0.6))
                    });
                }
            }
            Mark::Points => {
                let drawn = ctx
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(err)?;
                if labelled {
                    drawn
                        .label(name)
                        .legend(move |(x, y)| Circle::new((x + 9, y), 4, legend_color.filled()));
                }
            }
            Mark::Hollow => {
                let style = GREY.stroke_width(2);
                let drawn = ctx
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 5, style)))
                    .map_err(err)?;
                if labelled {
                    drawn
                        .label(name)
                        .legend(move |(x, y)| Circle::new((x + 9, y), 5, style));
                }
            }
        }
    }
    if series.iter().any(|s| !s.name.is_empty()) {
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 14))
            .position(legend)
            .draw()
            .map_err(err)?;
    }
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
                Series {
                    name: "not fitted".into(),
                    points: vec![(3.0, 1.5)],
                    mark: Mark::Hollow,
                },
            ],
            lower: vec![Series {
                name: "residual".into(),
                points: vec![(0.0, 0.1), (1.0, -0.1), (3.0, 0.5)],
                mark: Mark::Points,
            }],
            lower_label: "residual".into(),
        };
        let svg = dir.path().join("a.svg");
        render(&chart, &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg") && text.contains("measured"));
        assert!(text.contains("not fitted") && text.contains("residual"));
        let png = dir.path().join("a.png");
        render(&chart, &png).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(render(&chart, &dir.path().join("a.pdf")).is_err());
    }
}
