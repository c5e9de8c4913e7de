//! Rendering one source image (a raster file, an SVG file or SVG text) to a square opaque RGB PNG.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{ImageFormat, Rgb, RgbImage};

use crate::data::load::{decode_rgb, detect_format, render_svg, FileFormat};
use crate::error::{Error, Result};

/// Where a source image comes from.
#[derive(Clone, Debug)]
pub enum ImageSource {
    /// A PNG, JPEG, WebP or SVG file.
    File(PathBuf),
    /// An SVG document held in memory; `name` identifies it in messages ("icons.json#dog-face").
    SvgText { name: String, text: String },
}

impl ImageSource {
    /// A path-like name of the source, for messages.
    pub fn display_name(&self) -> String {
        match self {
            ImageSource::File(path) => path.display().to_string(),
            ImageSource::SvgText { name, .. } => name.clone(),
        }
    }
}

/// Renders a source to `size` x `size` opaque RGB. The whole drawing is kept: it is scaled to fit
/// the square, centred and padded with white. SVGs are rasterised directly at the target size.
pub fn render_source(source: &ImageSource, size: u32) -> Result<RgbImage> {
    match source {
        ImageSource::File(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| Error::io("failed to read image", path, e))?;
            match detect_format(&bytes, path)? {
                FileFormat::Svg => render_svg(&bytes, path, Some(size)),
                FileFormat::Raster(_) => Ok(fit_square(&decode_rgb(&bytes, path)?, size)),
            }
        }
        ImageSource::SvgText { name, text } => {
            render_svg(text.as_bytes(), Path::new(name), Some(size))
        }
    }
}

/// Scales an image to fit a `size` x `size` square (bicubic Catmull-Rom, antialiased when
/// shrinking), keeping the aspect ratio, and centres it on white.
pub fn fit_square(image: &RgbImage, size: u32) -> RgbImage {
    let (width, height) = image.dimensions();
    if (width, height) == (size, size) {
        return image.clone();
    }
    let scale = size as f64 / width.max(height) as f64;
    let new_width = ((width as f64 * scale).round() as u32).clamp(1, size);
    let new_height = ((height as f64 * scale).round() as u32).clamp(1, size);
    let resized = imageops::resize(image, new_width, new_height, FilterType::CatmullRom);
    let mut canvas = RgbImage::from_pixel(size, size, Rgb([255, 255, 255]));
    let left = (size - new_width) / 2;
    let top = (size - new_height) / 2;
    imageops::replace(&mut canvas, &resized, i64::from(left), i64::from(top));
    canvas
}

/// Encodes an RGB image as PNG and writes it, creating the parent folder when needed.
pub fn save_png(image: &RgbImage, path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io("failed to create folder", parent, e))?;
    }
    let mut encoded = Cursor::new(Vec::new());
    image
        .write_to(&mut encoded, ImageFormat::Png)
        .map_err(|e| Error::Image {
            path: path.to_path_buf(),
            reason: format!("failed to encode PNG: {e}"),
        })?;
    std::fs::write(path, encoded.into_inner()).map_err(|e| Error::io("failed to write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_square_pads_tall_image() {
        let tall = RgbImage::from_pixel(10, 20, Rgb([0, 0, 0]));
        let square = fit_square(&tall, 10);
        assert_eq!(square.dimensions(), (10, 10));
        assert_eq!(
            square.get_pixel(0, 5).0,
            [255, 255, 255],
            "left padding must be white"
        );
        assert_eq!(
            square.get_pixel(5, 5).0,
            [0, 0, 0],
            "the drawing must be centred"
        );
        assert_eq!(
            square.get_pixel(9, 5).0,
            [255, 255, 255],
            "right padding must be white"
        );
    }

    #[test]
    fn saved_png_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/out.png");
        let image = RgbImage::from_fn(3, 2, |x, y| Rgb([x as u8 * 80, y as u8 * 100, 7]));
        save_png(&image, &path).unwrap();
        let read = image::open(&path).unwrap();
        assert_eq!(read.color(), image::ColorType::Rgb8);
        assert_eq!(read.to_rgb8(), image);
    }
}
