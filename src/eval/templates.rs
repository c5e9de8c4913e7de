//! Prompt templates and class names, built in or read from a custom file.
//!
//! A custom file is either plain text with one entry per line, or JSON: a list of strings, or an
//! object from dataset name to a list of strings (CLIP_benchmark's `--custom_template_file` and
//! `--custom_classname_file` layout). Templates contain `{c}`, which is replaced by the class name.

use std::path::Path;

use crate::error::{Error, Result};

/// Templates for emoji concepts, categories and subcategories.
pub const EMOJI_TEMPLATES: [&str; 3] = ["{c}", "an emoji of {c}", "a picture of a {c}"];

/// Templates for Fashion-MNIST.
pub const FASHION_MNIST_TEMPLATES: [&str; 4] = ["a photo of a {c}.", "a black and white photo of a {c}.", "a picture of a {c}", "{c}"];

/// Templates for MNIST; the first is CLIP_benchmark's.
pub const MNIST_TEMPLATES: [&str; 3] = ["a photo of the number: \"{c}\".", "the digit {c}", "{c}"];

/// Reads a list of templates or class names for `dataset` from a custom file.
pub fn read_list_file(path: &Path, dataset: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("failed to read", path, e))?;
    let is_json = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    let entries = if is_json { parse_json_list(&text, path, dataset)? } else { parse_text_list(&text) };
    if entries.is_empty() {
        return Err(Error::Data(format!("{} contains no entries for dataset {dataset:?}; write at least one", path.display())));
    }
    Ok(entries)
}

/// Writes entries as a JSON list, the layout [`read_list_file`] reads back.
pub fn write_list_file(path: &Path, entries: &[String]) -> Result<()> {
    let json = serde_json::to_string_pretty(entries)?;
    crate::train::checkpoint::write_atomic(path, json.as_bytes())
}

/// Checks that every template contains the `{c}` placeholder.
pub fn validate_templates(templates: &[String], source: &str) -> Result<()> {
    if templates.is_empty() {
        return Err(Error::Config(format!("{source} has no prompt templates; give at least one")));
    }
    if let Some(bad) = templates.iter().find(|t| !t.contains("{c}")) {
        return Err(Error::Config(format!("template {bad:?} from {source} has no {{c}} placeholder for the class name")));
    }
    Ok(())
}

/// Fills `{c}` in each template with the class name.
pub fn fill_templates(templates: &[String], classname: &str) -> Vec<String> {
    templates.iter().map(|t| t.replace("{c}", classname)).collect()
}

fn parse_text_list(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect()
}

fn parse_json_list(text: &str, path: &Path, dataset: &str) -> Result<Vec<String>> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::Data(format!("{} is not valid JSON ({e}); write a list of strings or an object of lists", path.display())))?;
    let list = match &value {
        serde_json::Value::Object(map) => map.get(dataset).ok_or_else(|| {
            let keys: Vec<&String> = map.keys().collect();
            Error::Data(format!("{} has no entry for dataset {dataset:?} (it has {keys:?}); add one", path.display()))
        })?,
        other => other,
    };
    let invalid = || Error::Data(format!("{}: the entry for {dataset:?} must be a list of strings", path.display()));
    let items = list.as_array().ok_or_else(invalid)?;
    items.iter().map(|item| item.as_str().map(str::to_string).ok_or_else(invalid)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn json_list_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("templates.json");
        let templates = strings(&["a photo of a {c}.", "an \"odd\" {c}, with: punctuation"]);
        write_list_file(&path, &templates).unwrap();
        assert_eq!(read_list_file(&path, "any").unwrap(), templates);
    }

    #[test]
    fn json_object_picks_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("templates.json");
        std::fs::write(&path, r#"{"mnist": ["digit {c}"], "fashion_mnist": ["a {c}", "{c}"]}"#).unwrap();
        assert_eq!(read_list_file(&path, "fashion_mnist").unwrap(), strings(&["a {c}", "{c}"]));
        let missing = read_list_file(&path, "tuxpaint").unwrap_err().to_string();
        assert!(missing.contains("tuxpaint"), "{missing}");
    }

    #[test]
    fn text_file_skips_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("classes.txt");
        std::fs::write(&path, "zero\n\n  one \n").unwrap();
        assert_eq!(read_list_file(&path, "mnist").unwrap(), strings(&["zero", "one"]));
    }

    #[test]
    fn template_without_placeholder_is_rejected() {
        assert!(validate_templates(&strings(&["a photo"]), "test").is_err());
        assert!(validate_templates(&[], "test").is_err());
        assert!(validate_templates(&strings(&["a {c}"]), "test").is_ok());
    }

    #[test]
    fn malformed_json_names_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "[1, 2]").unwrap();
        let message = read_list_file(&path, "mnist").unwrap_err().to_string();
        assert!(message.contains("bad.json"), "{message}");
    }

    #[test]
    fn templates_fill_class_name() {
        let filled = fill_templates(&strings(&["an emoji of {c}"]), "dog face");
        assert_eq!(filled, strings(&["an emoji of dog face"]));
    }
}
