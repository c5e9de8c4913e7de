//! Small SVG charts for reports: bar charts and line charts, written as standalone SVG 1.1 text with
//! no dependencies.
//!
//! Every chart is 640 x 400 pixels. Non-finite values (NaN, infinity) are skipped, and so are
//! non-positive x values on a log10 axis. A chart with no drawable value still shows its title, axes
//! and a "no data" note.

use std::fmt::Write as _;
use std::path::Path;

use crate::train::checkpoint::write_atomic;

/// One line of a line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Name shown in the legend.
    pub label: String,
    /// (x, y) points, drawn in the given order.
    pub points: Vec<(f64, f64)>,
}

/// Title and axis settings shared by all charts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Axes {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Put x on a log10 scale. Only line charts use it.
    pub log_x: bool,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const FONT: &str = "font-family=\"sans-serif\"";
const AXIS_COLOUR: &str = "#333333";
const GRID_COLOUR: &str = "#e5e5e5";
const BAR_COLOUR: &str = "#4e79a7";
/// Tableau 10, cycled when there are more series than colours.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac",
];
/// Bar labels longer than this many characters are cut and end in an ellipsis.
const MAX_BAR_LABEL_CHARS: usize = 24;
/// At most this many bar labels are drawn, so that a chart with many bars keeps legible labels.
const MAX_BAR_LABELS: usize = 50;

/// Renders a bar chart. `bars` are (label, value) pairs, and each gets one slot and a label under it.
/// Labels are rotated when the bars are many or the labels long. A bar with a non-finite value
/// keeps its slot and label but draws no `<rect>`. The y axis always includes 0.
pub fn bar_chart_svg(axes: &Axes, bars: &[(String, f64)]) -> String {
    let rotate = bar_labels_rotated(bars);
    let frame = Frame {
        left: 72.0,
        right: WIDTH - 20.0,
        top: 48.0,
        bottom: HEIGHT - if rotate { 112.0 } else { 56.0 },
    };
    let finite: Vec<f64> = bars.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).collect();
    let (lo, hi) = min_max(finite.iter().copied()).unwrap_or((0.0, 0.0));
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let y_scale = Scale::linear([lo, if lo == hi { 1.0 } else { hi }].into_iter());

    let mut svg = svg_open(&axes.title);
    draw_y_ticks(&mut svg, &frame, &y_scale);
    draw_bars(&mut svg, &frame, &y_scale, bars);
    draw_bar_labels(&mut svg, &frame, bars, rotate);
    draw_axis_lines(&mut svg, &frame);
    draw_axis_titles(&mut svg, &frame, axes);
    if finite.is_empty() {
        draw_no_data(&mut svg, &frame);
    }
    svg.push_str("</svg>\n");
    svg
}

/// Renders a line chart with a marker on every point, one colour per series and a legend on the
/// right. With `axes.log_x` the x axis is log10 and points with x <= 0 are skipped. A non-finite or
/// skipped point breaks its line into separate segments.
pub fn line_chart_svg(axes: &Axes, series: &[Series]) -> String {
    let frame = Frame {
        left: 72.0,
        right: WIDTH - 150.0,
        top: 48.0,
        bottom: HEIGHT - 56.0,
    };
    let valid = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!axes.log_x || x > 0.0);
    let points = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(move |p| valid(*p))
    };
    let xs = points().map(|p| p.0);
    let x_scale = if axes.log_x {
        Scale::log10(xs)
    } else {
        Scale::linear(xs)
    };
    let y_scale = Scale::linear(points().map(|p| p.1));

    let mut svg = svg_open(&axes.title);
    draw_y_ticks(&mut svg, &frame, &y_scale);
    draw_x_ticks(&mut svg, &frame, &x_scale);
    draw_axis_lines(&mut svg, &frame);
    for (index, one) in series.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        draw_series(&mut svg, &frame, &x_scale, &y_scale, one, colour, valid);
    }
    draw_legend(&mut svg, &frame, series);
    draw_axis_titles(&mut svg, &frame, axes);
    if points().next().is_none() {
        draw_no_data(&mut svg, &frame);
    }
    svg.push_str("</svg>\n");
    svg
}

/// Writes an SVG document to `path` through a temporary file and a rename, so that readers never
/// see a partly written chart.
pub fn write_svg(path: &Path, svg: &str) -> crate::Result<()> {
    write_atomic(path, svg.as_bytes())
}

/// Plot area in SVG pixels, with y growing downwards.
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    fn x_px(&self, scale: &Scale, value: f64) -> Option<f64> {
        scale
            .fraction(value)
            .map(|f| self.left + f * (self.right - self.left))
    }

    fn y_px(&self, scale: &Scale, value: f64) -> Option<f64> {
        scale
            .fraction(value)
            .map(|f| self.bottom - f * (self.bottom - self.top))
    }
}

/// A linear or log10 axis: its domain and the values that get a tick label.
#[derive(Debug)]
struct Scale {
    /// Domain ends, in log10 units when `log` is set.
    lo: f64,
    hi: f64,
    log: bool,
    /// Tick values in data units, inside the domain.
    ticks: Vec<f64>,
    /// Spacing of linear ticks, which sets the decimals of their labels.
    step: f64,
}

impl Scale {
    /// Builds a linear scale over finite values, with 4 to 6 ticks at 1, 2, 2.5 or 5 times a power
    /// of ten for ordinary ranges. Falls back to [0, 1] when there are no values.
    fn linear(values: impl Iterator<Item = f64>) -> Scale {
        let (lo, hi) = padded_range(values).unwrap_or((0.0, 1.0));
        let (lo, hi, step, ticks) = nice_ticks(lo, hi);
        Scale {
            lo,
            hi,
            log: false,
            ticks,
            step,
        }
    }

    /// Builds a log10 scale over positive finite values, widened to whole decades. Falls back to
    /// [1, 10] when there are no values.
    fn log10(values: impl Iterator<Item = f64>) -> Scale {
        let logs = values.filter(|v| *v > 0.0 && v.is_finite()).map(f64::log10);
        let (lo, hi) = min_max(logs).unwrap_or((0.0, 1.0));
        let (mut lo, mut hi) = (lo.floor(), hi.ceil());
        if hi - lo < 1.0 {
            // Every value is the same power of ten, so the axis spans one decade on each side of it.
            lo -= 1.0;
            hi += 1.0;
        }
        let ticks = log_ticks(lo, hi);
        Scale {
            lo,
            hi,
            log: true,
            ticks,
            step: 0.0,
        }
    }

    /// Returns where `value` falls in the domain, 0 at `lo` and 1 at `hi`, or None for a value the
    /// scale cannot place (non-finite, or non-positive on a log scale).
    fn fraction(&self, value: f64) -> Option<f64> {
        let position = if self.log {
            if value <= 0.0 {
                return None;
            }
            value.log10()
        } else {
            value
        };
        let fraction = (position - self.lo) / (self.hi - self.lo);
        fraction.is_finite().then_some(fraction)
    }

    fn label(&self, value: f64) -> String {
        if self.log {
            format_log_tick(value)
        } else {
            format_tick(
                value,
                self.step,
                self.ticks.iter().fold(0.0, |m: f64, t| m.max(t.abs())),
            )
        }
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |range, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Returns the range of the finite values, widened around a single value so that it has a width.
fn padded_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = min_max(values)?;
    if lo < hi {
        return Some((lo, hi));
    }
    let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
    // Near f64::MAX the padded end would overflow, so it is clamped to the largest finite value.
    Some(((lo - pad).max(f64::MIN), (hi + pad).min(f64::MAX)))
}

/// Chooses a tick step of 1, 2, 2.5 or 5 times a power of ten, the smallest that covers
/// [lo, hi] with at most 6 ticks. Returns the widened domain (the first and last tick), the step
/// and the ticks.
fn nice_ticks(lo: f64, hi: f64) -> (f64, f64, f64, Vec<f64>) {
    let span = hi - lo;
    // Result for a span or widened domain that overflows f64, which labels only the ends.
    let ends_only = (lo, hi, span, vec![lo, hi]);
    if !(span.is_finite() && span > 0.0) {
        return ends_only;
    }
    let mut power = 10f64.powf((span / 10.0).log10().floor());
    if !(power > 0.0 && power.is_finite()) {
        power = span; // a subnormal span / 10 underflowed to 0
    }
    // Power starts above span / 100, so by the third decade the step exceeds the span and at most
    // 3 ticks remain.
    for _ in 0..4 {
        for mantissa in [1.0, 2.0, 2.5, 5.0] {
            let step = mantissa * power;
            let first = (lo / step).floor();
            let last = (hi / step).ceil();
            if last - first + 1.0 > 6.0 {
                continue;
            }
            if !(first * step).is_finite() || !(last * step).is_finite() {
                return ends_only;
            }
            let count = (last - first) as usize + 1;
            let ticks: Vec<f64> = (0..count).map(|i| (first + i as f64) * step).collect();
            return (first * step, last * step, step, ticks);
        }
        power *= 10.0;
    }
    ends_only
}

/// Returns tick values for a log10 domain [lo, hi] of whole decades, given in log10 units. One
/// decade gets ticks at 1, 2 and 5, two decades at 1 and 3 per decade, three decades at every
/// decade, and wider domains at evenly spaced decades.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = (hi - lo).round() as i64;
    let mantissas: &[f64] = match decades {
        1 => &[1.0, 2.0, 5.0],
        2 => &[1.0, 3.0],
        _ => &[1.0],
    };
    let decade_step = if decades <= 3 {
        1.0
    } else {
        nice_ticks(lo, hi).2.max(1.0).round()
    };
    let mut ticks = Vec::new();
    let mut exponent = lo;
    while exponent < hi {
        ticks.extend(mantissas.iter().map(|m| m * 10f64.powf(exponent)));
        exponent += decade_step;
    }
    ticks.push(10f64.powf(exponent.min(hi)));
    // Near the ends of f64 a decade boundary can be 0 or infinite.
    ticks.retain(|t| t.is_finite() && *t > 0.0);
    ticks
}

/// Formats a linear tick so that neighbouring ticks `step` apart differ in their text. Uses
/// scientific notation for magnitudes of 1e6 and above or steps below 1e-4.
fn format_tick(value: f64, step: f64, max_abs: f64) -> String {
    let value = if value == 0.0 { 0.0 } else { value }; // no "-0"
    if !(step.is_finite() && step > 0.0) {
        return format!("{value:.3e}");
    }
    let step_exponent = step.log10().floor();
    // A step of 2.5 * 10^k needs one more decimal than 10^k.
    let extra = usize::from((step / 10f64.powf(step_exponent) - 2.5).abs() < 1e-9);
    if max_abs >= 1e6 || step < 1e-4 {
        // f64 carries about 15 significant digits, so more would only show rounding noise.
        let digits = (max_abs.log10().floor() - step_exponent).clamp(0.0, 15.0) as usize + extra;
        return format!("{value:.digits$e}");
    }
    let decimals = (-step_exponent).max(0.0) as usize + extra;
    format!("{value:.decimals$}")
}

/// Formats a log-axis tick (1, 2, 3 or 5 times a power of ten) compactly: "0.01", "300", "1e6".
fn format_log_tick(value: f64) -> String {
    let exponent = value.log10().floor();
    if (-3.0..6.0).contains(&exponent) {
        let decimals = (-exponent).max(0.0) as usize;
        format!("{value:.decimals$}")
    } else {
        format!("{value:.0e}")
    }
}

/// Escapes text for use in XML content and attribute values, and drops the control characters
/// that XML 1.0 does not allow.
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Opens the `<svg>` element with a white background and the chart title.
fn svg_open(title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" style=\"background:#ffffff\">"
    );
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"28\" {FONT} font-size=\"16\" font-weight=\"bold\" text-anchor=\"middle\">{}</text>",
        WIDTH / 2.0,
        escape_xml(title)
    );
    svg
}

fn draw_axis_lines(svg: &mut String, frame: &Frame) {
    let Frame {
        left,
        right,
        top,
        bottom,
    } = frame;
    let _ = writeln!(
        svg,
        "<path d=\"M{left:.1},{top:.1} V{bottom:.1} H{right:.1}\" fill=\"none\" stroke=\"{AXIS_COLOUR}\" stroke-width=\"1\"/>"
    );
}

/// Draws the x axis title under the plot and the y axis title rotated along the left edge.
fn draw_axis_titles(svg: &mut String, frame: &Frame, axes: &Axes) {
    let x_centre = (frame.left + frame.right) / 2.0;
    let y_centre = (frame.top + frame.bottom) / 2.0;
    let _ = writeln!(
        svg,
        "<text x=\"{x_centre:.1}\" y=\"{:.1}\" {FONT} font-size=\"13\" text-anchor=\"middle\">{}</text>",
        HEIGHT - 12.0,
        escape_xml(&axes.x_label)
    );
    let _ = writeln!(
        svg,
        "<text x=\"18\" y=\"{y_centre:.1}\" {FONT} font-size=\"13\" text-anchor=\"middle\" \
         transform=\"rotate(-90 18 {y_centre:.1})\">{}</text>",
        escape_xml(&axes.y_label)
    );
}

/// Draws a horizontal grid line and a label for every y tick.
fn draw_y_ticks(svg: &mut String, frame: &Frame, scale: &Scale) {
    for &tick in &scale.ticks {
        let Some(y) = frame.y_px(scale, tick) else {
            continue;
        };
        let _ = writeln!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{GRID_COLOUR}\"/>",
            frame.left, frame.right
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" text-anchor=\"end\">{}</text>",
            frame.left - 6.0,
            y + 4.0,
            escape_xml(&scale.label(tick))
        );
    }
}

/// Draws a vertical grid line and a label for every x tick.
fn draw_x_ticks(svg: &mut String, frame: &Frame, scale: &Scale) {
    for &tick in &scale.ticks {
        let Some(x) = frame.x_px(scale, tick) else {
            continue;
        };
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{GRID_COLOUR}\"/>",
            frame.top, frame.bottom
        );
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" text-anchor=\"middle\">{}</text>",
            frame.bottom + 16.0,
            escape_xml(&scale.label(tick))
        );
    }
}

fn draw_no_data(svg: &mut String, frame: &Frame) {
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"14\" fill=\"#888888\" text-anchor=\"middle\">no data</text>",
        (frame.left + frame.right) / 2.0,
        (frame.top + frame.bottom) / 2.0
    );
}

/// Rotates bar labels when there are more than 8 bars or a label would be wider than its slot
/// (estimated at 7 pixels per character).
fn bar_labels_rotated(bars: &[(String, f64)]) -> bool {
    let slot = (WIDTH - 92.0) / bars.len().max(1) as f64;
    let longest = bars
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    bars.len() > 8 || longest.min(MAX_BAR_LABEL_CHARS) as f64 * 7.0 > slot
}

/// Draws one `<rect>` per finite bar, from 0 to its value, with its label and value as a tooltip.
fn draw_bars(svg: &mut String, frame: &Frame, scale: &Scale, bars: &[(String, f64)]) {
    let slot = (frame.right - frame.left) / bars.len().max(1) as f64;
    let Some(zero) = frame.y_px(scale, 0.0) else {
        return;
    };
    for (index, (label, value)) in bars.iter().enumerate() {
        let Some(y) = frame.y_px(scale, *value) else {
            continue;
        };
        let x = frame.left + slot * (index as f64 + 0.15);
        let _ = writeln!(
            svg,
            "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{BAR_COLOUR}\">\
             <title>{}: {value}</title></rect>",
            y.min(zero),
            slot * 0.7,
            (y - zero).abs(),
            escape_xml(label)
        );
    }
}

/// Draws the bar labels under the axis, every k-th one when there are more than
/// `MAX_BAR_LABELS` bars.
fn draw_bar_labels(svg: &mut String, frame: &Frame, bars: &[(String, f64)], rotate: bool) {
    let slot = (frame.right - frame.left) / bars.len().max(1) as f64;
    let every = bars.len().div_ceil(MAX_BAR_LABELS).max(1);
    let y = frame.bottom + 14.0;
    for (index, (label, _)) in bars.iter().enumerate().step_by(every) {
        let x = frame.left + slot * (index as f64 + 0.5);
        let text = escape_xml(&shorten(label, MAX_BAR_LABEL_CHARS));
        let placement = if rotate {
            format!("text-anchor=\"end\" transform=\"rotate(-45 {x:.1} {y:.1})\"")
        } else {
            "text-anchor=\"middle\"".to_string()
        };
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" {FONT} font-size=\"11\" {placement}>{text}</text>"
        );
    }
}

fn shorten(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        return label.to_string();
    }
    let mut short: String = label.chars().take(max_chars - 1).collect();
    short.push('…');
    short
}

/// Draws one series: a polyline per run of drawable points and a circle on each point.
fn draw_series(
    svg: &mut String,
    frame: &Frame,
    x_scale: &Scale,
    y_scale: &Scale,
    series: &Series,
    colour: &str,
    valid: impl Fn(&(f64, f64)) -> bool,
) {
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for point in &series.points {
        let pixel = valid(point)
            .then(|| frame.x_px(x_scale, point.0).zip(frame.y_px(y_scale, point.1)))
            .flatten();
        match pixel {
            Some(pixel) => segments
                .last_mut()
                .expect("segments starts non-empty")
                .push(pixel),
            None => segments.push(Vec::new()),
        }
    }
    for segment in segments.iter().filter(|s| s.len() > 1) {
        let coordinates: Vec<String> = segment.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            coordinates.join(" ")
        );
    }
    for (x, y) in segments.iter().flatten() {
        let _ = writeln!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{colour}\"/>"
        );
    }
}

/// Draws the legend to the right of the plot: a line, a marker and the label per series.
fn draw_legend(svg: &mut String, frame: &Frame, series: &[Series]) {
    let x = frame.right + 14.0;
    for (index, one) in series.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        let y = frame.top + 8.0 + 18.0 * index as f64;
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            x + 20.0
        );
        let _ = writeln!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{colour}\"/>",
            x + 10.0
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"12\">{}</text>",
            x + 26.0,
            y + 4.0,
            escape_xml(&shorten(&one.label, 16))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes(log_x: bool) -> Axes {
        Axes {
            title: "Title".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x,
        }
    }

    fn bars(values: &[f64]) -> Vec<(String, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("bar {i}"), *v))
            .collect()
    }

    fn series(label: &str, points: &[(f64, f64)]) -> Series {
        Series {
            label: label.into(),
            points: points.to_vec(),
        }
    }

    /// Checks that tags nest and close, and that no raw `&` or `<` appears in text or attributes.
    fn assert_well_formed(svg: &str) {
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 640 400\""), "{svg}");
        let mut open: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let text = &rest[..start];
            assert_no_bare_ampersand(text);
            let end = rest[start..].find('>').expect("unclosed tag") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "raw < inside tag {tag:?}");
            assert_no_bare_ampersand(tag);
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap().to_string());
            }
            rest = &rest[end + 1..];
        }
        assert!(open.is_empty(), "unclosed elements {open:?}");
    }

    fn assert_no_bare_ampersand(text: &str) {
        for (index, _) in text.match_indices('&') {
            let entity = &text[index..];
            let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"];
            assert!(known.iter().any(|k| entity.starts_with(k)), "bare & in {text:?}");
        }
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    /// Returns the text of every `<text>` element.
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text ")
            .skip(1)
            .map(|t| &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()])
            .collect()
    }

    #[test]
    fn bar_chart_one_rect_per_bar() {
        let svg = bar_chart_svg(&axes(false), &bars(&[3.0, 1.0, 4.0, 1.5]));
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "<rect"), 4);
        assert!(svg.contains(">bar 0</text>"));
        assert!(svg.contains(">bar 3</text>"));
        assert!(svg.contains(">Title</text>"));
        assert!(!svg.contains("no data"));
    }

    #[test]
    fn bar_chart_y_ticks_are_nice() {
        let svg = bar_chart_svg(&axes(false), &bars(&[0.37, 0.81, 0.52]));
        let labels = texts(&svg);
        for tick in ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"] {
            assert!(labels.contains(&tick), "missing tick {tick} in {labels:?}");
        }
    }

    #[test]
    fn bar_chart_skips_non_finite() {
        let svg = bar_chart_svg(
            &axes(false),
            &bars(&[1.0, f64::NAN, f64::INFINITY, 2.0, f64::NEG_INFINITY]),
        );
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "<rect"), 2);
        assert!(!svg.contains("NaN"));
        assert!(!svg.contains("inf"));
        assert!(svg.contains(">bar 1</text>"), "the NaN bar keeps its label");
    }

    #[test]
    fn bar_chart_empty_input() {
        let svg = bar_chart_svg(&axes(false), &[]);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "<rect"), 0);
        assert!(svg.contains("no data"));
    }

    #[test]
    fn bar_chart_all_equal_and_negative() {
        for values in [[0.0, 0.0], [5.0, 5.0], [-2.0, -2.0], [1e308, f64::MAX]] {
            let svg = bar_chart_svg(&axes(false), &bars(&values));
            assert_well_formed(&svg);
            assert_eq!(count(&svg, "<rect"), 2, "{values:?}");
            assert!(!svg.contains("NaN"), "{values:?}: {svg}");
        }
    }

    #[test]
    fn bar_chart_rotates_many_labels() {
        let many = bars(&[1.0; 12]);
        assert!(bar_chart_svg(&axes(false), &many).contains("rotate(-45"));
        let few = bars(&[1.0; 3]);
        assert!(!bar_chart_svg(&axes(false), &few).contains("rotate(-45"));
    }

    #[test]
    fn bar_chart_thins_labels_beyond_limit() {
        let svg = bar_chart_svg(&axes(false), &bars(&[1.0; 120]));
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "<rect"), 120);
        let labels = texts(&svg).into_iter().filter(|t| t.starts_with("bar ")).count();
        assert_eq!(labels, 40, "every third label of 120");
    }

    #[test]
    fn text_is_escaped() {
        let tricky = "a&b <c> \"d\" 'e'\u{1}";
        let chart_axes = Axes {
            title: tricky.into(),
            x_label: tricky.into(),
            y_label: tricky.into(),
            log_x: false,
        };
        let escaped = "a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;";
        let bar_svg = bar_chart_svg(&chart_axes, &[(tricky.to_string(), 1.0)]);
        assert_well_formed(&bar_svg);
        assert_eq!(
            count(&bar_svg, escaped),
            5,
            "title, axis titles, label, tooltip: {bar_svg}"
        );
        assert!(!bar_svg.contains('\u{1}'));
        let line_svg = line_chart_svg(&chart_axes, &[series(tricky, &[(1.0, 1.0)])]);
        assert_well_formed(&line_svg);
        assert_eq!(count(&line_svg, escaped), 4, "title, axis titles, legend");
        let long_label = series("<long> & longer label", &[(1.0, 1.0)]);
        let long_svg = line_chart_svg(&chart_axes, &[long_label]);
        assert_well_formed(&long_svg);
        assert!(
            long_svg.contains(">&lt;long&gt; &amp; longer…</text>"),
            "shortened legend label"
        );
    }

    #[test]
    fn line_chart_series_and_legend() {
        let chart = [
            series("train", &[(0.0, 1.0), (1.0, 0.5), (2.0, 0.25)]),
            series("val", &[(0.0, 1.2), (2.0, 0.6)]),
        ];
        let svg = line_chart_svg(&axes(false), &chart);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "<polyline"), 2);
        assert_eq!(
            count(&svg, "<circle"),
            5 + 2,
            "markers plus one legend marker per series"
        );
        assert!(svg.contains(PALETTE[0]), "first series colour");
        assert!(svg.contains(PALETTE[1]), "second series colour");
        assert!(svg.contains(">train</text>"), "legend label train");
        assert!(svg.contains(">val</text>"), "legend label val");
    }

    #[test]
    fn line_chart_has_4_to_6_ticks() {
        let svg = line_chart_svg(&axes(false), &[series("s", &[(0.0, 0.13), (37.0, 0.92)])]);
        let x_ticks = count(&svg, "text-anchor=\"middle\">") - 2; // minus title and x axis title
        let y_ticks = count(&svg, "text-anchor=\"end\">");
        assert!((4..=6).contains(&x_ticks), "{x_ticks} x ticks: {svg}");
        assert!((4..=6).contains(&y_ticks), "{y_ticks} y ticks: {svg}");
    }

    #[test]
    fn line_chart_skips_nan_and_breaks_line() {
        let chart = [series(
            "s",
            &[(0.0, 1.0), (1.0, 2.0), (2.0, f64::NAN), (3.0, 1.0), (4.0, 0.0)],
        )];
        let svg = line_chart_svg(&axes(false), &chart);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "<polyline"), 2);
        assert_eq!(count(&svg, "<circle"), 4 + 1);
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn line_chart_log_x_skips_non_positive() {
        let chart = [series(
            "s",
            &[(-1.0, 5.0), (0.0, 5.0), (1.0, 1.0), (100.0, 2.0), (1e4, 3.0)],
        )];
        let svg = line_chart_svg(&axes(true), &chart);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "<circle"), 3 + 1);
        assert_eq!(count(&svg, "<polyline"), 1);
        let labels = texts(&svg);
        for tick in ["1", "10", "100", "1000", "10000"] {
            assert!(labels.contains(&tick), "missing log tick {tick} in {labels:?}");
        }
        assert!(!svg.contains("NaN"));
        assert!(!svg.contains("inf"));
    }

    #[test]
    fn line_chart_log_x_narrow_range() {
        let svg = line_chart_svg(&axes(true), &[series("s", &[(2.0, 1.0), (5.0, 2.0)])]);
        let labels = texts(&svg);
        for tick in ["1", "2", "5", "10"] {
            assert!(labels.contains(&tick), "missing log tick {tick} in {labels:?}");
        }
    }

    #[test]
    fn line_chart_degenerate_inputs() {
        let cases: Vec<Vec<Series>> = vec![
            vec![],
            vec![series("empty", &[])],
            vec![series("one", &[(3.0, 7.0)])],
            vec![series("flat", &[(1.0, 2.0), (2.0, 2.0), (3.0, 2.0)])],
            vec![series("same x", &[(5.0, 1.0), (5.0, 2.0)])],
            vec![series("all nan", &[(f64::NAN, 1.0), (1.0, f64::INFINITY)])],
            vec![series("huge", &[(f64::MIN, f64::MIN), (f64::MAX, f64::MAX)])],
            vec![series("tiny", &[(0.0, 1.0), (1e-300, 1.0 + f64::EPSILON)])],
        ];
        for chart in &cases {
            for log_x in [false, true] {
                let svg = line_chart_svg(&axes(log_x), chart);
                assert_well_formed(&svg);
                assert!(!svg.contains("NaN"), "{chart:?}: {svg}");
            }
        }
        let empty = line_chart_svg(&axes(false), &[]);
        assert!(empty.contains("no data"));
        let single = line_chart_svg(&axes(false), &cases[2]);
        assert_eq!(count(&single, "<circle"), 2, "one marker and one legend marker");
        assert!(!single.contains("no data"));
    }

    #[test]
    fn nice_ticks_count_within_4_to_6() {
        for (lo, hi) in [
            (0.0, 1.0),
            (0.13, 0.92),
            (-3.0, 17.0),
            (1e-6, 3e-6),
            (2.0, 2.01),
            (-1e9, 7e9),
            (0.0, 0.3),
        ] {
            let (first, last, step, ticks) = nice_ticks(lo, hi);
            assert!((4..=6).contains(&ticks.len()), "[{lo}, {hi}] gave {ticks:?}");
            assert!(first <= lo, "[{lo}, {hi}] starts before {first}");
            assert!(last >= hi, "[{lo}, {hi}] ends after {last}");
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 2.5, 5.0].iter().any(|m| (m - mantissa).abs() < 1e-9),
                "step {step}"
            );
        }
    }

    #[test]
    fn tick_labels_are_distinct() {
        for (lo, hi) in [
            (0.0, 1.0),
            (0.0, 2.5),
            (1e6, 5e6),
            (1e-6, 3e-6),
            (-0.5, 0.5),
            (1e9, 1e9 + 50.0),
        ] {
            let scale = Scale::linear([lo, hi].into_iter());
            let labels: Vec<String> = scale.ticks.iter().map(|t| scale.label(*t)).collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(unique, labels, "[{lo}, {hi}]");
            let negative_zero = |l: &String| l.starts_with('-') && l.parse::<f64>() == Ok(0.0);
            assert!(!labels.iter().any(negative_zero), "{labels:?}");
        }
    }

    #[test]
    fn write_svg_creates_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.svg");
        let svg = bar_chart_svg(&axes(false), &bars(&[1.0]));
        write_svg(&path, &svg).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), svg);
    }
}
