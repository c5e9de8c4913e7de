//! Image preprocessing for the image tower: resize, centre crop, scale to [0, 1] and normalise, as
//! open_clip's `image_transform` does for evaluation.

use std::path::PathBuf;

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use super::load::load_rgb;
use super::parallel::{for_each_parallel, progress_bar, resolve_threads};
use crate::error::{Error, Result};

/// Per-channel RGB mean of the OpenAI CLIP training images (open_clip `OPENAI_DATASET_MEAN`).
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// Per-channel RGB standard deviation of the OpenAI CLIP training images (open_clip `OPENAI_DATASET_STD`).
#[allow(clippy::excessive_precision)] // the digits open_clip uses, rounded to f32 by the compiler
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// Resize strategy that brings an image to `image_size` x `image_size`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    /// Resize so that the shorter side equals the target size, then crop the centre square.
    #[default]
    Shortest,
    /// Resize both sides to the target size, ignoring the aspect ratio.
    Squash,
}

/// The image preprocessing that travels with a checkpoint.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Preprocess {
    /// Side of the square model input, in pixels.
    pub image_size: u32,
    /// Per-channel mean subtracted after scaling to [0, 1].
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by after subtracting the mean.
    pub std: [f32; 3],
    #[serde(default)]
    pub resize_mode: ResizeMode,
}

impl Preprocess {
    /// Creates the OpenAI CLIP preprocessing (its mean and std, shortest-side resize) at `image_size`.
    pub fn clip(image_size: u32) -> Self {
        Preprocess {
            image_size,
            mean: CLIP_MEAN,
            std: CLIP_STD,
            resize_mode: ResizeMode::Shortest,
        }
    }

    /// Checks that the size is positive and every std is positive and finite.
    pub fn validate(&self) -> Result<()> {
        if self.image_size == 0 {
            return Err(Error::Config(
                "preprocess image_size is 0; set it to a positive number of pixels".into(),
            ));
        }
        let all_finite = self.mean.iter().chain(&self.std).all(|v| v.is_finite());
        if !all_finite || self.std.iter().any(|&s| s <= 0.0) {
            return Err(Error::Config(format!(
                "preprocess mean {:?} / std {:?} must be finite and std must be positive",
                self.mean, self.std
            )));
        }
        Ok(())
    }

    /// Number of values in one preprocessed image: 3 * image_size * image_size.
    pub fn values_per_image(&self) -> usize {
        3 * self.image_size as usize * self.image_size as usize
    }

    /// Resizes (bicubic Catmull-Rom, antialiased when shrinking) and centre-crops an image to
    /// `image_size` x `image_size`, following `resize_mode`.
    pub fn resize_crop(&self, image: &RgbImage) -> RgbImage {
        let size = self.image_size;
        let (width, height) = image.dimensions();
        if width == 0 || height == 0 {
            // Decoders reject empty images, so this only happens for images built in code.
            return RgbImage::from_pixel(size, size, Rgb([255, 255, 255]));
        }
        if (width, height) == (size, size) {
            return image.clone();
        }
        match self.resize_mode {
            ResizeMode::Squash => imageops::resize(image, size, size, FilterType::CatmullRom),
            ResizeMode::Shortest => {
                let scale = size as f64 / width.min(height) as f64;
                let new_width = ((width as f64 * scale).round() as u32).max(size);
                let new_height = ((height as f64 * scale).round() as u32).max(size);
                let resized =
                    imageops::resize(image, new_width, new_height, FilterType::CatmullRom);
                let left = (new_width - size) / 2;
                let top = (new_height - size) / 2;
                imageops::crop_imm(&resized, left, top, size, size).to_image()
            }
        }
    }

    /// Returns the resized and cropped image as CHW `u8` values (channel-major, then rows).
    pub fn apply_u8(&self, image: &RgbImage) -> Vec<u8> {
        let resized = self.resize_crop(image);
        let plane = (self.image_size * self.image_size) as usize;
        let mut chw = vec![0u8; 3 * plane];
        for (index, pixel) in resized.pixels().enumerate() {
            for channel in 0..3 {
                chw[channel * plane + index] = pixel[channel];
            }
        }
        chw
    }

    /// Returns the model input as CHW `f32`: resized, cropped, scaled to [0, 1], then
    /// `(x - mean) / std` per channel.
    pub fn apply(&self, image: &RgbImage) -> Vec<f32> {
        let plane = (self.image_size * self.image_size) as usize;
        self.apply_u8(image)
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                let channel = index / plane;
                (value as f32 / 255.0 - self.mean[channel]) / self.std[channel]
            })
            .collect()
    }
}

/// Decodes and preprocesses images on `threads` threads (0: one per core) into one contiguous
/// buffer of `paths.len() * 3 * image_size * image_size` CHW `u8` values, in the order of `paths`.
///
/// The first image that fails to load aborts the whole call with its error, which names the file.
pub fn load_images_parallel(
    paths: &[PathBuf],
    pre: &Preprocess,
    threads: usize,
) -> Result<Vec<u8>> {
    pre.validate()?;
    let per_image = pre.values_per_image();
    let mut buffer = vec![0u8; paths.len() * per_image];
    let bar = progress_bar(paths.len(), "decoding images");
    let items = paths.iter().zip(buffer.chunks_mut(per_image));
    for_each_parallel(items, resolve_threads(threads), &bar, |(path, slot)| {
        let image = load_rgb(path)?;
        slot.copy_from_slice(&pre.apply_u8(&image));
        Ok(())
    })?;
    bar.finish_and_clear();
    tracing::debug!(images = paths.len(), "decoded and preprocessed images");
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x * 7) as u8, (y * 5) as u8, 200])
        })
    }

    #[test]
    fn apply_shape_and_normalisation() {
        let pre = Preprocess::clip(16);
        let white = RgbImage::from_pixel(16, 16, Rgb([255, 255, 255]));
        let values = pre.apply(&white);
        assert_eq!(values.len(), 3 * 16 * 16);
        for channel in 0..3 {
            let expected = (1.0 - CLIP_MEAN[channel]) / CLIP_STD[channel];
            let first = values[channel * 256];
            let last = values[channel * 256 + 255];
            assert!(
                (first - expected).abs() < 1e-6,
                "channel {channel}: {first} != {expected}"
            );
            assert!(
                (last - expected).abs() < 1e-6,
                "channel {channel}: {last} != {expected}"
            );
        }
    }

    #[test]
    fn apply_u8_is_channel_major() {
        let pre = Preprocess::clip(4);
        let image = gradient(4, 4);
        let chw = pre.apply_u8(&image);
        assert_eq!(chw.len(), 48);
        // Pixel (x=3, y=1): red 21, green 5, blue 200.
        let index = 4 + 3;
        assert_eq!(chw[index], 21);
        assert_eq!(chw[16 + index], 5);
        assert_eq!(chw[32 + index], 200);
    }

    #[test]
    fn shortest_side_crops_centre() {
        let pre = Preprocess::clip(8);
        // A 16 x 8 image: a black left quarter, white elsewhere; the centre crop drops the black.
        let image = RgbImage::from_fn(16, 8, |x, _| {
            if x < 4 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let cropped = pre.resize_crop(&image);
        assert_eq!(cropped.dimensions(), (8, 8));
        assert!(
            cropped.pixels().all(|p| p.0 == [255, 255, 255]),
            "the black band must be cropped away"
        );
    }

    #[test]
    fn squash_keeps_whole_image() {
        let pre = Preprocess {
            resize_mode: ResizeMode::Squash,
            ..Preprocess::clip(8)
        };
        let image = RgbImage::from_fn(16, 8, |x, _| {
            if x < 4 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let squashed = pre.resize_crop(&image);
        assert_eq!(squashed.dimensions(), (8, 8));
        assert_eq!(
            squashed.get_pixel(0, 4).0,
            [0, 0, 0],
            "the black band must survive a squash"
        );
    }

    #[test]
    fn downscale_is_antialiased() {
        // A 1-pixel checkerboard averages to mid grey when shrunk 4x; plain sampling would not.
        let pre = Preprocess::clip(8);
        let image = RgbImage::from_fn(32, 32, |x, y| {
            if (x + y) % 2 == 0 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let small = pre.resize_crop(&image);
        let centre = small.get_pixel(4, 4)[0] as i32;
        assert!(
            (centre - 128).abs() < 20,
            "centre value {centre} is not close to mid grey"
        );
    }

    #[test]
    fn serde_uses_lowercase_mode() {
        let json = serde_json::to_string(&Preprocess::clip(64)).unwrap();
        assert!(json.contains("\"resize_mode\":\"shortest\""), "{json}");
        let parsed: Preprocess = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, Preprocess::clip(64));
    }

    #[test]
    fn validate_rejects_zero_size_and_std() {
        assert!(Preprocess::clip(0).validate().is_err());
        let zero_std = Preprocess {
            std: [0.0, 1.0, 1.0],
            ..Preprocess::clip(8)
        };
        assert!(zero_std.validate().is_err());
        assert!(Preprocess::clip(8).validate().is_ok());
    }

    #[test]
    fn parallel_load_matches_sequential() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-raw");
        let paths = vec![
            root.join("emoji-datasource-google/package/img/google/64/1f436.png"),
            root.join("openmoji/package/color/svg/1F436.svg"),
            root.join("emoji-datasource-twitter/package/img/twitter/64/1f436.png"),
        ];
        let pre = Preprocess::clip(32);
        let buffer = load_images_parallel(&paths, &pre, 2).unwrap();
        assert_eq!(buffer.len(), 3 * pre.values_per_image());
        for (index, path) in paths.iter().enumerate() {
            let expected = pre.apply_u8(&load_rgb(path).unwrap());
            let slot =
                &buffer[index * pre.values_per_image()..(index + 1) * pre.values_per_image()];
            assert_eq!(
                slot,
                expected.as_slice(),
                "image {} differs",
                path.display()
            );
        }
    }

    #[test]
    fn parallel_load_reports_missing_file() {
        let paths = vec![PathBuf::from("/nonexistent/sparse-clip/absent.png")];
        let error = load_images_parallel(&paths, &Preprocess::clip(8), 1).unwrap_err();
        assert!(error.to_string().contains("absent.png"), "message: {error}");
    }
}
