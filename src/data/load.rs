//! Image file decoding: PNG, JPEG and WebP through the `image` crate, SVG through `resvg`, with
//! alpha composited on white so that every image comes out as opaque RGB.

use std::path::Path;
use std::sync::OnceLock;

use image::{ImageFormat, RgbImage, RgbaImage};
use resvg::{tiny_skia, usvg};

use crate::error::{Error, Result};

/// Maximum side, in pixels, of an SVG rendered without a target size. Larger intrinsic sizes are
/// scaled down to it.
pub const MAX_SVG_SIDE: u32 = 2048;

/// A file format that [`decode_rgb`] can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Raster(ImageFormat),
    Svg,
}

/// Reads and decodes an image file to opaque RGB, compositing any alpha channel on white.
///
/// The format comes from the file extension (`png`, `jpg`/`jpeg`, `webp`, `svg`/`svgz`); files with
/// another or no extension are identified from their first bytes. SVGs are rendered at their
/// intrinsic size, scaled down so that the longer side is at most [`MAX_SVG_SIDE`].
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("failed to read image", path, e))?;
    decode_rgb(&bytes, path)
}

/// Decodes image bytes to opaque RGB. `path` names the image in errors and chooses the format
/// by extension, as in [`load_rgb`].
pub fn decode_rgb(bytes: &[u8], path: &Path) -> Result<RgbImage> {
    match detect_format(bytes, path)? {
        FileFormat::Svg => render_svg(bytes, path, None),
        FileFormat::Raster(format) => {
            decode_raster(bytes, path, format).map(|rgba| composite_on_white(&rgba))
        }
    }
}

/// Chooses the decoder for a file: by extension first, then by content.
pub fn detect_format(bytes: &[u8], path: &Path) -> Result<FileFormat> {
    if let Some(format) = format_from_extension(path) {
        return Ok(format);
    }
    sniff_format(bytes).ok_or_else(|| Error::Image {
        path: path.to_path_buf(),
        reason: "unknown image format (neither the extension nor the content is PNG, JPEG, WebP or SVG); \
                 convert the file to PNG"
            .to_string(),
    })
}

fn format_from_extension(path: &Path) -> Option<FileFormat> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "svg" | "svgz" => Some(FileFormat::Svg),
        "png" => Some(FileFormat::Raster(ImageFormat::Png)),
        "jpg" | "jpeg" => Some(FileFormat::Raster(ImageFormat::Jpeg)),
        "webp" => Some(FileFormat::Raster(ImageFormat::WebP)),
        _ => None,
    }
}

/// Identifies PNG, JPEG, WebP and SVG (plain or gzip-compressed) from the first bytes.
fn sniff_format(bytes: &[u8]) -> Option<FileFormat> {
    if let Ok(format) = image::guess_format(bytes) {
        if matches!(
            format,
            ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP
        ) {
            return Some(FileFormat::Raster(format));
        }
    }
    // A gzip stream is assumed to be an SVGZ, the only compressed format resvg reads.
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Some(FileFormat::Svg);
    }
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let starts_like_xml = ["<?xml", "<svg", "<!DOCTYPE", "<!--"]
        .iter()
        .any(|prefix| text.starts_with(prefix));
    if starts_like_xml && text.contains("<svg") {
        return Some(FileFormat::Svg);
    }
    None
}

fn decode_raster(bytes: &[u8], path: &Path, format: ImageFormat) -> Result<RgbaImage> {
    let image = image::load_from_memory_with_format(bytes, format).map_err(|e| Error::Image {
        path: path.to_path_buf(),
        reason: format!("failed to decode as {format:?}: {e}; the file is corrupt or truncated, replace or delete it"),
    })?;
    if image.width() == 0 || image.height() == 0 {
        return Err(Error::Image {
            path: path.to_path_buf(),
            reason: "the image has zero width or height".to_string(),
        });
    }
    Ok(image.to_rgba8())
}

/// Composites an RGBA image (straight, not premultiplied, alpha) on a white background.
pub fn composite_on_white(rgba: &RgbaImage) -> RgbImage {
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, pixel) in rgb.pixels_mut().zip(rgba.pixels()) {
        let alpha = u32::from(pixel[3]);
        for channel in 0..3 {
            let value = u32::from(pixel[channel]) * alpha + 255 * (255 - alpha);
            out[channel] = ((value + 127) / 255) as u8;
        }
    }
    rgb
}

/// Returns the SVG parser options, shared by all threads. System fonts are loaded once, so that
/// the few SVGs with `<text>` elements render with whatever fonts the machine has.
///
/// NOTE: text rendering depends on the installed fonts, so such SVGs can differ between machines,
/// and on a machine without fonts their text is left out.
fn svg_options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = usvg::Options::default();
        let fonts = options.fontdb_mut();
        fonts.load_system_fonts();
        use_installed_generic_families(fonts);
        options
    })
}

/// Points the generic font families at installed fonts. usvg 0.45 falls back to the generic
/// serif family when no font in a `font-family` list is installed. fontdb 0.23 maps the generic
/// families to Times New Roman, Arial and the like, which many Linux machines lack, so without
/// this step such text is not drawn at all.
fn use_installed_generic_families(fonts: &mut usvg::fontdb::Database) {
    let installed: Vec<String> = fonts
        .faces()
        .filter_map(|face| face.families.first().map(|(name, _)| name.clone()))
        .collect();
    let Some(any) = installed.first().cloned() else {
        tracing::debug!("no system fonts found; SVG text will not be drawn");
        return;
    };
    let pick = |include: &str, exclude: &str| {
        installed
            .iter()
            .find(|name| name.contains(include) && (exclude.is_empty() || !name.contains(exclude)))
            .cloned()
            .unwrap_or_else(|| any.clone())
    };
    let is_installed = |family: usvg::fontdb::Family| {
        let query = usvg::fontdb::Query {
            families: &[family],
            ..Default::default()
        };
        fonts.query(&query).is_some()
    };
    let serif = (!is_installed(usvg::fontdb::Family::Serif)).then(|| pick("Serif", ""));
    let sans = (!is_installed(usvg::fontdb::Family::SansSerif)).then(|| pick("Sans", "Mono"));
    let mono = (!is_installed(usvg::fontdb::Family::Monospace)).then(|| pick("Mono", ""));
    if let Some(family) = serif {
        fonts.set_serif_family(family);
    }
    if let Some(family) = sans {
        fonts.set_sans_serif_family(family);
    }
    if let Some(family) = mono {
        fonts.set_monospace_family(family);
    }
}

/// Renders SVG bytes (or gzip-compressed SVGZ) on a white background.
///
/// With `fit: Some(size)` the drawing is scaled to fit a `size` x `size` square, keeping its aspect
/// ratio, and centred. The rest of the square stays white. With `None` the image has the SVG's
/// intrinsic size, scaled down so that the longer side is at most [`MAX_SVG_SIDE`].
pub fn render_svg(bytes: &[u8], path: &Path, fit: Option<u32>) -> Result<RgbImage> {
    let invalid = |reason: String| Error::Image {
        path: path.to_path_buf(),
        reason,
    };
    let tree = usvg::Tree::from_data(bytes, svg_options()).map_err(|e| {
        invalid(format!(
            "failed to parse SVG: {e}; the file is corrupt or not an SVG"
        ))
    })?;
    let size = tree.size();
    let (width, height) = (size.width(), size.height());
    if !(width > 0.0 && height > 0.0 && width.is_finite() && height.is_finite()) {
        return Err(invalid(format!(
            "the SVG has an invalid size {width} x {height}"
        )));
    }

    let (canvas_width, canvas_height, scale) = match fit {
        Some(side) => (side, side, side as f32 / width.max(height)),
        None => {
            let scale = (MAX_SVG_SIDE as f32 / width.max(height)).min(1.0);
            let canvas_width = ((width * scale).round() as u32).max(1);
            let canvas_height = ((height * scale).round() as u32).max(1);
            (canvas_width, canvas_height, scale)
        }
    };
    let mut pixmap = tiny_skia::Pixmap::new(canvas_width, canvas_height).ok_or_else(|| {
        invalid(format!(
            "cannot allocate a {canvas_width} x {canvas_height} canvas"
        ))
    })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let offset_x = (canvas_width as f32 - width * scale) / 2.0;
    let offset_y = (canvas_height as f32 - height * scale) / 2.0;
    let transform =
        tiny_skia::Transform::from_translate(offset_x, offset_y).pre_scale(scale, scale);
    resvg::render(&tree, transform, &mut pixmap.as_mut());

    // The canvas starts opaque white and stays opaque, so the premultiplied RGBA that tiny-skia
    // stores equals straight RGB.
    let mut rgb = RgbImage::new(canvas_width, canvas_height);
    for (out, pixel) in rgb.pixels_mut().zip(pixmap.pixels()) {
        out.0 = [pixel.red(), pixel.green(), pixel.blue()];
    }
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;
    use std::path::PathBuf;

    fn fixture(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(relative)
    }

    #[test]
    fn composite_blends_alpha_on_white() {
        let mut rgba = RgbaImage::new(4, 1);
        rgba.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
        rgba.put_pixel(1, 0, Rgba([0, 0, 0, 255]));
        rgba.put_pixel(2, 0, Rgba([255, 0, 0, 128]));
        rgba.put_pixel(3, 0, Rgba([10, 20, 30, 255]));
        let rgb = composite_on_white(&rgba);
        assert_eq!(
            rgb.get_pixel(0, 0).0,
            [255, 255, 255],
            "transparent pixel must become white"
        );
        assert_eq!(
            rgb.get_pixel(1, 0).0,
            [0, 0, 0],
            "opaque black must stay black"
        );
        // 255 * 128/255 + 255 * 127/255 = 255 for red; 0 * 128/255 + 255 * 127/255 = 127 for green.
        assert_eq!(rgb.get_pixel(2, 0).0, [255, 127, 127]);
        assert_eq!(
            rgb.get_pixel(3, 0).0,
            [10, 20, 30],
            "opaque colours must not change"
        );
    }

    #[test]
    fn load_png_composites_transparent_corner() {
        let path = fixture("data-raw/emoji-datasource-google/package/img/google/64/1f436.png");
        let raw = image::open(&path).unwrap().to_rgba8();
        assert_eq!(
            raw.get_pixel(0, 0)[3],
            0,
            "the fixture's corner should be transparent"
        );
        let rgb = load_rgb(&path).unwrap();
        assert_eq!(rgb.dimensions(), (64, 64));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
    }

    #[test]
    fn load_svg_renders_on_white() {
        let path = fixture("data-raw/openmoji/package/color/svg/1F436.svg");
        let rgb = load_rgb(&path).unwrap();
        assert_eq!(rgb.dimensions(), (72, 72), "OpenMoji SVGs are 72 x 72");
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        let non_white = rgb.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(non_white > 500, "only {non_white} pixels were drawn");
    }

    #[test]
    fn render_svg_fits_square() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="#000"/></svg>"##;
        let rgb = render_svg(svg, Path::new("wide.svg"), Some(8)).unwrap();
        assert_eq!(rgb.dimensions(), (8, 8));
        assert_eq!(
            rgb.get_pixel(4, 0).0,
            [255, 255, 255],
            "the band above the drawing must be white"
        );
        assert_eq!(rgb.get_pixel(4, 4).0, [0, 0, 0], "the centre must be drawn");
    }

    #[test]
    fn truncated_png_names_file() {
        let source = fixture("data-raw/emoji-datasource-google/package/img/google/64/1f436.png");
        let bytes = std::fs::read(source).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truncated.png");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        match load_rgb(&path) {
            Err(Error::Image {
                path: reported,
                reason,
            }) => {
                assert_eq!(reported, path);
                assert!(reason.contains("corrupt"), "reason: {reason}");
            }
            other => panic!("expected Error::Image, got {other:?}"),
        }
    }

    #[test]
    fn missing_file_is_io_error() {
        let path = Path::new("/nonexistent/sparse-clip/missing.png");
        let error = load_rgb(path).unwrap_err();
        assert!(matches!(error, Error::Io { .. }), "got {error:?}");
        assert!(
            error.to_string().contains("missing.png"),
            "message: {error}"
        );
    }

    #[test]
    fn sniffs_format_without_extension() {
        let source = fixture("data-raw/emoji-datasource-google/package/img/google/64/1f436.png");
        let bytes = std::fs::read(source).unwrap();
        let path = Path::new("image-without-extension");
        assert_eq!(
            detect_format(&bytes, path).unwrap(),
            FileFormat::Raster(ImageFormat::Png)
        );
        let svg = b"\n<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
        assert_eq!(detect_format(svg, path).unwrap(), FileFormat::Svg);
        assert!(matches!(
            detect_format(b"hello", path),
            Err(Error::Image { .. })
        ));
    }
}
