//! Builder tests on the real package slice in `tests/fixtures/data-raw` (see its README).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::data::tsv::{read_pairs, TsvOptions};

fn fixture_raw() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-raw")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn options(raw: &Path, out: &Path) -> BuildOptions {
    BuildOptions {
        image_size: 32,
        threads: 2,
        ..BuildOptions::new(raw, out)
    }
}

/// Reads a built TSV into rows keyed by (style, code).
fn rows_by_style_code(path: &Path) -> BTreeMap<(String, String), Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        TSV_COLUMNS.join("\t"),
        "header of {}",
        path.display()
    );
    lines
        .map(|line| {
            let fields: Vec<String> = line.split('\t').map(str::to_string).collect();
            assert_eq!(fields.len(), TSV_COLUMNS.len(), "line {line:?}");
            ((fields[3].clone(), fields[4].clone()), fields)
        })
        .collect()
}

fn style<'a>(summary: &'a BuildSummary, name: &str) -> &'a SourceSummary {
    summary.styles.iter().find(|s| s.name == name).unwrap()
}

#[test]
fn builds_fixture_slice() {
    let out = tempfile::tempdir().unwrap();
    let summary = build(&options(&fixture_raw(), out.path())).unwrap();

    let written: Vec<(&str, usize)> = summary
        .styles
        .iter()
        .map(|s| (s.name.as_str(), s.written))
        .collect();
    assert_eq!(
        written,
        vec![
            ("google", 7),
            ("twitter", 7),
            ("fluent-3d", 7),
            ("openmoji", 3),
            ("noto", 4),
            ("fluent-color", 3)
        ]
    );
    assert_eq!(summary.train_rows, 24);
    assert_eq!(summary.val_rows, 7);
    assert_eq!(summary.tuxpaint_rows, 4);
    assert_eq!(
        summary.labelled_codes, 10,
        "10 base codes in the slice; skin tones are off"
    );

    let google = style(&summary, "google");
    assert_eq!(google.found, 8);
    assert_eq!(
        google.skipped.get("skin tone variant (skin tones are off)"),
        Some(&1)
    );
    assert_eq!(
        google.labelled_without_image, 3,
        "regional indicator A and the two backhand indexes"
    );
    let openmoji = style(&summary, "openmoji");
    assert_eq!(
        openmoji.skipped.get("no emojibase label for the codepoint"),
        Some(&1),
        "E308 is an OpenMoji extra"
    );
    let fluent = style(&summary, "fluent-color");
    assert_eq!(
        fluent.skipped.get("icon name matches no emojibase label"),
        Some(&1),
        "red-triangle"
    );
    assert_eq!(
        fluent.skipped.get("skin tone variant (skin tones are off)"),
        Some(&1)
    );
    let tuxpaint = summary.tuxpaint.as_ref().unwrap();
    assert_eq!(tuxpaint.found, 5);
    assert_eq!(
        tuxpaint.skipped.get("no caption file (.txt)"),
        Some(&1),
        "the _mirror stamp has no caption"
    );
}

#[test]
fn fixture_rows_and_captions() {
    let out = tempfile::tempdir().unwrap();
    build(&options(&fixture_raw(), out.path())).unwrap();

    let train = rows_by_style_code(&out.path().join("train.tsv"));
    let val = rows_by_style_code(&out.path().join("val.tsv"));
    assert!(
        train.keys().all(|(style, _)| style != "fluent-3d"),
        "the held-out style leaked into train.tsv"
    );
    assert!(
        val.keys().all(|(style, _)| style == "fluent-3d"),
        "val.tsv must hold only the held-out style"
    );

    let dog = &train[&("google".to_string(), "1F436".to_string())];
    assert_eq!(
        dog,
        &vec![
            "images/google/1f436.png".to_string(),
            "dog face: adorbs, animal, dog, face, pet, puppies, puppy".to_string(),
            "dog face".to_string(),
            "google".to_string(),
            "1F436".to_string(),
            "Animals & Nature".to_string(),
            "animal-mammal".to_string(),
        ]
    );
    // The Google file is 2764-fe0f.png; the row uses the emojibase code 2764.
    let heart = &train[&("google".to_string(), "2764".to_string())];
    assert_eq!(heart[0], "images/google/2764.png");
    assert!(heart[1].starts_with("red heart: "), "{}", heart[1]);
    // The slice of emoji-datasource leaves out the rocket, so its category comes from emojibase.
    let rocket = &val[&("fluent-3d".to_string(), "1F680".to_string())];
    assert_eq!(rocket[5], "Travel & Places");
    assert_eq!(rocket[6], "transport-air");
    // The Iconify Fluent alias backhand-index-pointing-right maps to U+1F449 by its name.
    assert!(train.contains_key(&("fluent-color".to_string(), "1F449".to_string())));
    assert!(train.contains_key(&("noto".to_string(), "1F44B".to_string())));

    let tux = rows_by_style_code(&out.path().join("tuxpaint.tsv"));
    let dime = &tux[&(
        "tuxpaint".to_string(),
        "symbols/money/us/coins/010dime".to_string(),
    )];
    assert_eq!(
        dime[0],
        "images/tuxpaint/symbols/money/us/coins/010dime.png"
    );
    assert_eq!(dime[1], "A US 10 cent piece ($.10) called a dime.");
    assert_eq!(dime[5], "symbols/money/us/coins");
    let balloon = &tux[&(
        "tuxpaint".to_string(),
        "symbols/shapes/speech_balloon".to_string(),
    )];
    assert_eq!(balloon[1], "A speech balloon.");
    assert_eq!(balloon[2], "speech balloon");
}

#[test]
fn fixture_images_are_square_rgb() {
    let out = tempfile::tempdir().unwrap();
    build(&options(&fixture_raw(), out.path())).unwrap();

    for table in ["train.tsv", "val.tsv", "tuxpaint.tsv"] {
        let records = read_pairs(&out.path().join(table), &TsvOptions::default()).unwrap();
        assert!(!records.is_empty(), "{table} is empty");
        for record in records {
            let image = image::open(&record.image_path)
                .unwrap_or_else(|e| panic!("{}: {e}", record.image_path.display()));
            assert_eq!(
                image.color(),
                image::ColorType::Rgb8,
                "{}",
                record.image_path.display()
            );
            assert_eq!(
                (image.width(), image.height()),
                (32, 32),
                "{}",
                record.image_path.display()
            );
        }
    }
    // Emoji corners are transparent in the packages and must come out white.
    let dog = image::open(out.path().join("images/fluent-3d/1f436.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(dog.get_pixel(0, 0).0, [255, 255, 255]);
    let noto = image::open(out.path().join("images/noto/1f436.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(noto.get_pixel(0, 0).0, [255, 255, 255]);
}

#[test]
fn writes_readme_and_manifest() {
    let out = tempfile::tempdir().unwrap();
    build(&options(&fixture_raw(), out.path())).unwrap();

    let readme = std::fs::read_to_string(out.path().join("README.md")).unwrap();
    for licence in ["MIT", "Apache-2.0", "CC-BY-4.0", "CC-BY-SA-4.0", "GPL-2.0"] {
        assert!(readme.contains(licence), "README lacks licence {licence}");
    }
    assert!(
        readme.contains("1 no caption file (.txt)"),
        "README lacks the Tux Paint skip count"
    );

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["train_rows"], 24);
    assert_eq!(manifest["val_rows"], 7);
    assert_eq!(manifest["holdout_style"], "fluent-3d");
    assert_eq!(manifest["styles"][3]["name"], "openmoji");
    assert_eq!(manifest["styles"][3]["licence"], "CC-BY-SA-4.0");
}

#[test]
fn skin_tones_option_adds_variants() {
    let out = tempfile::tempdir().unwrap();
    let summary = build(&BuildOptions {
        include_skin_tones: true,
        ..options(&fixture_raw(), out.path())
    })
    .unwrap();
    assert_eq!(style(&summary, "google").written, 8);
    assert_eq!(
        style(&summary, "fluent-color").written,
        4,
        "backhand-index-pointing-left-light joins U+1F448 U+1F3FB"
    );
    let train = rows_by_style_code(&out.path().join("train.tsv"));
    let light = &train[&("google".to_string(), "1F44B-1F3FB".to_string())];
    assert!(
        light[1].starts_with("waving hand: light skin tone: "),
        "{}",
        light[1]
    );
}

#[test]
fn corrupt_image_is_skipped_and_counted() {
    let raw = tempfile::tempdir().unwrap();
    copy_tree(&fixture_raw(), raw.path());
    let png = raw
        .path()
        .join("emoji-datasource-google/package/img/google/64/1f600.png");
    let bytes = std::fs::read(&png).unwrap();
    std::fs::write(&png, &bytes[..bytes.len() / 3]).unwrap();

    let out = tempfile::tempdir().unwrap();
    let summary = build(&options(raw.path(), out.path())).unwrap();
    let google = style(&summary, "google");
    assert_eq!(google.written, 6);
    assert_eq!(
        google.skipped.get("image could not be decoded or rendered"),
        Some(&1)
    );
    let train = rows_by_style_code(&out.path().join("train.tsv"));
    assert!(
        !train.contains_key(&("google".to_string(), "1F600".to_string())),
        "the corrupt image must have no row"
    );
}

#[test]
fn missing_package_names_folder() {
    let raw = tempfile::tempdir().unwrap();
    copy_tree(&fixture_raw(), raw.path());
    std::fs::remove_dir_all(raw.path().join("openmoji")).unwrap();
    let out = tempfile::tempdir().unwrap();

    let message = build(&options(raw.path(), out.path()))
        .unwrap_err()
        .to_string();
    assert!(message.contains("openmoji/package"), "{message}");
    assert!(message.contains("scripts/fetch-data.sh"), "{message}");

    // Leaving the style out makes the missing package irrelevant.
    let styles = ["google", "fluent-3d"].map(String::from).to_vec();
    let summary = build(&BuildOptions {
        styles,
        ..options(raw.path(), out.path())
    })
    .unwrap();
    assert_eq!(summary.train_rows, 7);
    assert_eq!(summary.val_rows, 7);
}

#[test]
fn rejects_bad_style_options() {
    let out = tempfile::tempdir().unwrap();
    let unknown = BuildOptions {
        styles: vec!["apple".to_string()],
        ..options(&fixture_raw(), out.path())
    };
    let message = build(&unknown).unwrap_err().to_string();
    assert!(
        message.contains("unknown emoji style \"apple\""),
        "{message}"
    );

    let holdout_not_built = BuildOptions {
        styles: vec!["google".to_string(), "twitter".to_string()],
        ..options(&fixture_raw(), out.path())
    };
    let message = build(&holdout_not_built).unwrap_err().to_string();
    assert!(
        message.contains("held-out style \"fluent-3d\""),
        "{message}"
    );

    let zero_size = BuildOptions {
        image_size: 0,
        ..options(&fixture_raw(), out.path())
    };
    assert!(build(&zero_size)
        .unwrap_err()
        .to_string()
        .contains("image size 0"));
}

#[test]
fn other_holdout_style() {
    let out = tempfile::tempdir().unwrap();
    let summary = build(&BuildOptions {
        holdout_style: "openmoji".to_string(),
        include_tuxpaint: false,
        ..options(&fixture_raw(), out.path())
    })
    .unwrap();
    assert_eq!(summary.val_rows, 3);
    assert_eq!(summary.train_rows, 28);
    assert!(summary.tuxpaint.is_none());
    assert!(!out.path().join("tuxpaint.tsv").exists());
    let val = rows_by_style_code(&out.path().join("val.tsv"));
    assert!(val.keys().all(|(style, _)| style == "openmoji"));
}
