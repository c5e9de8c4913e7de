//! Renders a small feature atlas in headless Chromium and checks that the cards and their images
//! really show: the page marks itself ready with the expected counts, and a screenshot contains the
//! colours of the card images. The screenshot is kept in target/test-artifacts/atlas.png.
//!
//! The test is skipped, with a message on stderr, when /usr/bin/chromium is missing or
//! SPARSE_CLIP_SKIP_BROWSER=1 is set.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use sparse_clip::interpret::atlas::write_atlas;
use sparse_clip::interpret::{FeatureAtlas, FeatureCard, ScoredImage, ScoredText};

const CHROMIUM: &str = "/usr/bin/chromium";
const FEATURES: usize = 30;
const IMAGES_PER_CARD: usize = 3;
const IMAGE_SIZE: u32 = 64;
const WINDOW_WIDTH: u32 = 1280;
const WINDOW_HEIGHT: u32 = 1600;
/// Chromium runs are killed after this long.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
/// A fill colour counts as shown when at least this many screenshot pixels have it exactly.
const MIN_PIXELS_PER_COLOUR: usize = 50;
/// Image fills that must appear in the screenshot. The first row of four cards alone shows twelve.
const MIN_COLOURS_SHOWN: usize = 12;

#[test]
fn atlas_renders_in_chromium() {
    if let Some(reason) = skip_reason() {
        eprintln!("atlas_browser: skipped, because {reason}");
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (atlas, fills) = sample_atlas(dir.path());
    let index = write_atlas(&atlas, &dir.path().join("atlas")).unwrap();

    let dom = dump_dom(&file_url(&index), dir.path());
    let body = body_tag(&dom);
    assert_eq!(
        attribute(body, "data-ready").as_deref(),
        Some("1"),
        "the page never became ready: {body}"
    );
    assert_eq!(attribute(body, "data-cards"), Some(FEATURES.to_string()), "{body}");
    let loaded: usize = attribute(body, "data-images-loaded").expect(body).parse().unwrap();
    assert!(loaded > 0, "no eager image loaded: {body}");
    // Every eager <img> points at a copied PNG, so all of them must decode. The missing image is a
    // placeholder without an <img>.
    let eager_images = dom.matches(" loading=\"eager\"").count();
    assert_eq!(loaded, eager_images, "{body}");
    assert!(eager_images < FEATURES * IMAGES_PER_CARD, "all images load eagerly");

    check_search_link(&index, dir.path());

    let screenshot = take_screenshot(&index, dir.path());
    let saved = save_artifact(&screenshot);
    eprintln!("atlas_browser: screenshot saved to {}", saved.display());
    check_screenshot(&screenshot, &fills);
    eprintln!("atlas_browser: took {:.1} s", started.elapsed().as_secs_f64());
}

fn skip_reason() -> Option<String> {
    if std::env::var("SPARSE_CLIP_SKIP_BROWSER").is_ok_and(|value| value == "1") {
        return Some("SPARSE_CLIP_SKIP_BROWSER=1 is set".to_string());
    }
    if !Path::new(CHROMIUM).exists() {
        let hint = "install the Debian package `chromium` (scripts/test.sh does so as root)";
        return Some(format!("{CHROMIUM} was not found; {hint}"));
    }
    None
}

/// Builds an atlas of `FEATURES` cards with `IMAGES_PER_CARD` PNGs each, every one a distinct solid
/// colour with a shape on it. Returns the atlas and the fill colours. Card 1 also lists a missing
/// image, which the page shows as a placeholder.
fn sample_atlas(dir: &Path) -> (FeatureAtlas, Vec<Rgb<u8>>) {
    let image_dir = dir.join("source-images");
    fs::create_dir_all(&image_dir).unwrap();
    let mut fills = Vec::new();
    let mut features = Vec::new();
    for index in 0..FEATURES {
        let mut top_images = Vec::new();
        for slot in 0..IMAGES_PER_CARD {
            let fill = fill_colour(fills.len(), FEATURES * IMAGES_PER_CARD);
            let path = image_dir.join(format!("feature{index}-{slot}.png"));
            shape_image(fill, index + slot).save(&path).unwrap();
            fills.push(fill);
            top_images.push(scored_image(
                &path,
                &format!("image {slot} of feature {index}"),
                0.9 - 0.1 * slot as f64,
            ));
        }
        if index == 1 {
            top_images.push(scored_image(&image_dir.join("missing.png"), "a missing image", 0.4));
        }
        features.push(sample_card(index, top_images));
    }
    (sample_header(features), fills)
}

fn sample_card(index: usize, top_images: Vec<ScoredImage>) -> FeatureCard {
    let name = WORDS[index % WORDS.len()];
    let classes = ["image-only", "multimodal", "text-only"];
    FeatureCard {
        index: (index * 7) as i64,
        name: name.to_string(),
        top_words: vec![
            scored_text(name, 0.61),
            scored_text("colour", 0.42),
            scored_text("shape", 0.3),
        ],
        top_images,
        top_captions: vec![
            scored_text(&format!("a {name} on a plain background"), 0.55),
            scored_text(&format!("two {name}s & a <shape>"), 0.31),
        ],
        modality: Some([0.95, 0.5, 0.05][index % 3]),
        modality_class: classes[index % 3].to_string(),
        density_image: 0.002 * (index + 1) as f64,
        density_text: 0.0015 * (FEATURES - index) as f64,
    }
}

fn sample_header(features: Vec<FeatureCard>) -> FeatureAtlas {
    FeatureAtlas {
        model: "browser-test".to_string(),
        checkpoint: "runs/browser-test/checkpoint-final".to_string(),
        code: "L2-normalised code, a_i > tau".to_string(),
        tau: 0.001,
        code_dim: 256,
        vocabulary: "wamerican".to_string(),
        vocabulary_size: 4096,
        templates: vec!["a photo of a {}.".to_string(), "an emoji of a {}.".to_string()],
        image_set: "data/val.tsv".to_string(),
        features,
    }
}

const WORDS: [&str; 10] = [
    "apple", "boat", "cat", "drum", "egg", "fish", "guitar", "house", "island", "jar",
];

fn scored_text(text: &str, value: f64) -> ScoredText {
    ScoredText {
        text: text.to_string(),
        value,
    }
}

fn scored_image(path: &Path, caption: &str, value: f64) -> ScoredImage {
    ScoredImage {
        path: path.to_string_lossy().into_owned(),
        caption: caption.to_string(),
        value,
    }
}

/// Returns the `i`-th of `count` saturated colours, spread evenly over the hue circle.
fn fill_colour(i: usize, count: usize) -> Rgb<u8> {
    let hue = 6.0 * i as f64 / count as f64;
    let sector = hue.floor() as usize;
    let rising = hue - sector as f64;
    let (high, low) = (230.0, 40.0);
    let up = low + (high - low) * rising;
    let down = high - (high - low) * rising;
    let [r, g, b] = match sector {
        0 => [high, up, low],
        1 => [down, high, low],
        2 => [low, high, up],
        3 => [low, down, high],
        4 => [up, low, high],
        _ => [high, low, down],
    };
    Rgb([r as u8, g as u8, b as u8])
}

/// Draws a 64x64 image of `fill` with a dark disc or square in the middle, chosen by `variant`.
fn shape_image(fill: Rgb<u8>, variant: usize) -> RgbImage {
    let centre = IMAGE_SIZE as i64 / 2;
    RgbImage::from_fn(IMAGE_SIZE, IMAGE_SIZE, |x, y| {
        let dx = x as i64 - centre;
        let dy = y as i64 - centre;
        let inside = if variant.is_multiple_of(2) {
            dx * dx + dy * dy <= 14 * 14
        } else {
            dx.abs() <= 12 && dy.abs() <= 12
        };
        if inside {
            Rgb([25, 25, 35])
        } else {
            fill
        }
    })
}

fn chromium_command(user_data_dir: &Path) -> Command {
    let mut command = Command::new(CHROMIUM);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    command.arg(format!("--user-data-dir={}", user_data_dir.display()));
    command.arg(format!("--window-size={WINDOW_WIDTH},{WINDOW_HEIGHT}"));
    command.arg("--virtual-time-budget=5000");
    command
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// Opens the atlas with a search and a sort order in its URL and checks which cards remain, and in
/// which order. WORDS repeats every ten features, so "guitar" names features 6, 16 and 26.
fn check_search_link(index: &Path, dir: &Path) {
    let dom = dump_dom(&format!("{}#q=GUITAR&sort=density_image", file_url(index)), dir);
    let body = body_tag(&dom);
    assert_eq!(attribute(body, "data-ready").as_deref(), Some("1"), "{body}");

    let cards = card_tags(&dom);
    let visible: Vec<String> = cards
        .iter()
        .filter(|tag| !tag.contains(" hidden"))
        .map(|tag| attribute(tag, "data-index").unwrap())
        .collect();
    // Image density grows with the position, so the sort puts feature 26 (index 182) first.
    assert_eq!(visible, ["182", "112", "42"]);
    assert_eq!(cards.len(), FEATURES);
    assert!(
        dom.contains("3 of 30 features"),
        "the counter does not show 3 of 30 features"
    );
}

/// Returns the opening tags of the card elements, in document order.
fn card_tags(dom: &str) -> Vec<&str> {
    dom.match_indices("<article")
        .map(|(start, _)| {
            let end = start + dom[start..].find('>').unwrap();
            &dom[start..=end]
        })
        .collect()
}

/// Returns the DOM of the page at `url` after its scripts ran, as Chromium's --dump-dom prints it.
fn dump_dom(url: &str, dir: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let stdout_path = dir.join("dom.html");
    let mut command = chromium_command(profile.path());
    command.arg("--dump-dom").arg(url);
    run_with_timeout(command, &stdout_path, &dir.join("dump-dom.stderr"));
    fs::read_to_string(&stdout_path).unwrap()
}

/// Takes a screenshot of the page and returns the path of the PNG.
fn take_screenshot(index: &Path, dir: &Path) -> PathBuf {
    let profile = tempfile::tempdir().unwrap();
    let png = dir.join("atlas.png");
    let mut command = chromium_command(profile.path());
    command
        .arg(format!("--screenshot={}", png.display()))
        .arg(file_url(index));
    run_with_timeout(command, &dir.join("screenshot.stdout"), &dir.join("screenshot.stderr"));
    assert!(png.exists(), "Chromium wrote no screenshot to {}", png.display());
    png
}

/// Runs `command` with stdout and stderr sent to files, since the DOM can exceed a pipe's buffer.
/// Kills it after `BROWSER_TIMEOUT` and panics with its stderr when it fails or times out.
fn run_with_timeout(mut command: Command, stdout_path: &Path, stderr_path: &Path) {
    command.stdin(Stdio::null());
    command.stdout(File::create(stdout_path).unwrap());
    command.stderr(File::create(stderr_path).unwrap());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("failed to start {CHROMIUM}: {error}"));
    let started = Instant::now();
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            child.kill().unwrap();
            child.wait().unwrap();
            let stderr = fs::read_to_string(stderr_path).unwrap_or_default();
            panic!("Chromium timed out after {BROWSER_TIMEOUT:?} and was killed; stderr:\n{stderr}");
        }
        thread::sleep(Duration::from_millis(100));
    };
    let stderr = fs::read_to_string(stderr_path).unwrap_or_default();
    assert!(status.success(), "Chromium failed with {status}; stderr:\n{stderr}");
}

/// Returns the opening `<body ...>` tag of a dumped DOM.
fn body_tag(dom: &str) -> &str {
    let start = dom
        .find("<body")
        .unwrap_or_else(|| panic!("the dumped DOM has no <body>:\n{dom}"));
    let end = start + dom[start..].find('>').unwrap();
    &dom[start..=end]
}

/// Returns the value of a double-quoted attribute in `tag`.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].to_string())
}

fn save_artifact(screenshot: &Path) -> PathBuf {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    fs::create_dir_all(&folder).unwrap();
    let saved = folder.join("atlas.png");
    fs::copy(screenshot, &saved).unwrap();
    saved
}

fn check_screenshot(png: &Path, fills: &[Rgb<u8>]) {
    let image = image::open(png).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (WINDOW_WIDTH, WINDOW_HEIGHT));

    let white = image.pixels().filter(|pixel| pixel.0 == [255, 255, 255]).count();
    let total = image.pixels().count();
    assert!(white < total * 9 / 10, "{white} of {total} screenshot pixels are white");

    let found = colours_found(&image, fills);
    eprintln!(
        "atlas_browser: {found} of {} image fill colours appear in the screenshot",
        fills.len()
    );
    assert!(
        found >= MIN_COLOURS_SHOWN,
        "only {found} of {} image fill colours appear in the screenshot, expected at least {MIN_COLOURS_SHOWN}",
        fills.len()
    );
}

/// Counts the fill colours that cover at least `MIN_PIXELS_PER_COLOUR` screenshot pixels.
fn colours_found(image: &RgbImage, fills: &[Rgb<u8>]) -> usize {
    let fill_set: HashSet<[u8; 3]> = fills.iter().map(|fill| fill.0).collect();
    let mut counts = HashMap::new();
    for pixel in image.pixels().filter(|pixel| fill_set.contains(&pixel.0)) {
        *counts.entry(pixel.0).or_insert(0usize) += 1;
    }
    counts.values().filter(|&&count| count >= MIN_PIXELS_PER_COLOUR).count()
}
