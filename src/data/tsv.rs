//! Image-caption tables in open_clip's CSV/TSV layout: a header line naming the columns, then one
//! image-caption pair per line.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Column names of the image path and the caption, and the field separator. They mirror
/// open_clip's `--csv-img-key`, `--csv-caption-key` and `--csv-separator`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsvOptions {
    pub image_key: String,
    pub caption_key: String,
    pub separator: char,
}

impl Default for TsvOptions {
    fn default() -> Self {
        TsvOptions {
            image_key: "filepath".to_string(),
            caption_key: "title".to_string(),
            separator: '\t',
        }
    }
}

/// One image-caption pair read from a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairRecord {
    /// Image path; a relative path in the file is resolved against the table's folder.
    pub image_path: PathBuf,
    pub caption: String,
    /// The `label` column, when the table has one and the field is not empty.
    pub label: Option<String>,
    /// Every other column, by header name.
    pub extra: BTreeMap<String, String>,
    /// 1-based line number in the table, for error messages.
    pub line: usize,
}

/// Reads image-caption pairs from a TSV (or CSV) file.
///
/// Empty lines are skipped. With a separator other than tab, a field may be wrapped in double
/// quotes so that it can contain the separator, and a doubled `""` inside is one quote.
/// Tab-separated files are split on every tab, and quotes in them are plain text. A quoted field
/// cannot span lines.
///
/// Errors name the file and line. They cover a missing file, a header without the image or caption
/// column (the message lists the columns found), a line with the wrong number of fields, an empty
/// image path or caption, and text that is not UTF-8.
pub fn read_pairs(path: &Path, options: &TsvOptions) -> Result<Vec<PairRecord>> {
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Data(format!(
                "image-caption table {} not found; check the path, or build the built-in data with `sparse-clip data build`",
                path.display()
            ))
        } else {
            Error::io("failed to read image-caption table", path, e)
        }
    })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();

    let mut lines = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(index, raw)| {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            (index + 1, raw)
        });

    let (header_line, header_raw) = lines.find(|(_, raw)| !raw.is_empty()).ok_or_else(|| {
        Error::Data(format!(
            "image-caption table {} is empty; it needs a header line",
            path.display()
        ))
    })?;
    let header_text = utf8_line(header_raw, path, header_line)?;
    let header_text = header_text.strip_prefix('\u{feff}').unwrap_or(header_text);
    let columns: Vec<String> = split_fields(header_text, options.separator, path, header_line)?
        .into_iter()
        .map(|name| name.trim().to_string())
        .collect();

    let find_column = |key: &str, role: &str| {
        columns.iter().position(|name| name == key).ok_or_else(|| {
            Error::Data(format!(
                "{}: header line {header_line} has no {role} column {key:?}; the columns found are {:?}. \
                 Set the {role} column name (--csv-img-key or --csv-caption-key) to one of them, or check the separator {:?} (--csv-separator)",
                path.display(),
                columns,
                options.separator
            ))
        })
    };
    let image_column = find_column(&options.image_key, "image")?;
    let caption_column = find_column(&options.caption_key, "caption")?;
    let label_column = columns.iter().position(|name| name == "label");

    let mut records = Vec::new();
    for (line, raw) in lines {
        if raw.is_empty() {
            continue;
        }
        let text = utf8_line(raw, path, line)?;
        let fields = split_fields(text, options.separator, path, line)?;
        if fields.len() != columns.len() {
            return Err(Error::Data(format!(
                "{}: line {line} has {} fields but the header has {} columns ({:?}); \
                 remove the extra separators or fill in the missing fields",
                path.display(),
                fields.len(),
                columns.len(),
                columns
            )));
        }

        let image_field = fields[image_column].trim();
        if image_field.is_empty() {
            return Err(Error::Data(format!(
                "{}: line {line}, column {:?}: the image path is empty; fill it in or delete the line",
                path.display(),
                options.image_key
            )));
        }
        let caption = fields[caption_column].trim();
        if caption.is_empty() {
            return Err(Error::Data(format!(
                "{}: line {line}, column {:?}: the caption is empty; write a caption or delete the line",
                path.display(),
                options.caption_key
            )));
        }

        let image_path = Path::new(image_field);
        let image_path = if image_path.is_absolute() {
            image_path.to_path_buf()
        } else {
            base_dir.join(image_path)
        };
        let label = label_column
            .map(|index| fields[index].trim())
            .filter(|value| !value.is_empty())
            .map(str::to_string);
        let extra = columns
            .iter()
            .zip(&fields)
            .enumerate()
            .filter(|(index, _)| {
                *index != image_column && *index != caption_column && Some(*index) != label_column
            })
            .map(|(_, (name, value))| (name.clone(), value.clone()))
            .collect();

        records.push(PairRecord {
            image_path,
            caption: caption.to_string(),
            label,
            extra,
            line,
        });
    }
    Ok(records)
}

fn utf8_line<'a>(raw: &'a [u8], path: &Path, line: usize) -> Result<&'a str> {
    std::str::from_utf8(raw).map_err(|e| {
        Error::Data(format!(
            "{}: line {line} is not valid UTF-8 (byte {} of the line); re-encode the file as UTF-8",
            path.display(),
            e.valid_up_to() + 1
        ))
    })
}

/// Splits one line into fields. Quotes are honoured only for separators other than tab.
fn split_fields(
    line: &str,
    separator: char,
    path: &Path,
    line_number: usize,
) -> Result<Vec<String>> {
    if separator == '\t' {
        return Ok(line.split('\t').map(str::to_string).collect());
    }

    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => {
                        return Err(Error::Data(format!(
                        "{}: line {line_number}, field {}: the quoted field has no closing quote; \
                             close it (quoted fields cannot span lines)",
                        path.display(),
                        fields.len() + 1
                    )))
                    }
                }
            }
            // Text between the closing quote and the next separator is kept, as most CSV readers do.
            while let Some(&c) = chars.peek() {
                if c == separator {
                    break;
                }
                field.push(c);
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == separator {
                    break;
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// Replaces tabs, carriage returns and newlines with spaces and trims the ends, so that text fits
/// in one TSV field.
pub fn sanitize_field(text: &str) -> String {
    text.replace(['\t', '\r', '\n'], " ").trim().to_string()
}

/// Writes a tab-separated table: the header, then one line per row. Every field is passed through
/// [`sanitize_field`]. Rows must have as many fields as the header.
pub fn write_tsv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io("failed to create", path, e))?;
    let mut writer = std::io::BufWriter::new(file);
    let write_error = |e| Error::io("failed to write", path, e);
    writeln!(writer, "{}", header.join("\t")).map_err(write_error)?;
    for row in rows {
        debug_assert_eq!(
            row.len(),
            header.len(),
            "TSV row width must match the header"
        );
        let fields: Vec<String> = row.iter().map(|field| sanitize_field(field)).collect();
        writeln!(writer, "{}", fields.join("\t")).map_err(write_error)?;
    }
    writer.flush().map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_table(contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.tsv");
        std::fs::write(&path, contents).unwrap();
        (dir, path)
    }

    fn data_error(result: Result<Vec<PairRecord>>) -> String {
        match result {
            Err(Error::Data(message)) => message,
            other => panic!("expected Error::Data, got {other:?}"),
        }
    }

    #[test]
    fn reads_rows_and_resolves_paths() {
        let (dir, path) = write_table(
            b"filepath\ttitle\tlabel\tstyle\nimages/a.png\tdog face: animal, dog\tdog face\tgoogle\n\n/abs/b.png\t\"quoted\" text\t\ttwitter\r\n",
        );
        let records = read_pairs(&path, &TsvOptions::default()).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].image_path, dir.path().join("images/a.png"));
        assert_eq!(records[0].caption, "dog face: animal, dog");
        assert_eq!(records[0].label.as_deref(), Some("dog face"));
        assert_eq!(
            records[0].extra.get("style").map(String::as_str),
            Some("google")
        );
        assert_eq!(records[0].line, 2);
        assert_eq!(records[1].image_path, PathBuf::from("/abs/b.png"));
        assert_eq!(
            records[1].caption, "\"quoted\" text",
            "quotes are plain text in a TSV"
        );
        assert_eq!(records[1].label, None);
        assert_eq!(
            records[1].extra.get("style").map(String::as_str),
            Some("twitter")
        );
        assert_eq!(records[1].line, 4);
    }

    #[test]
    fn custom_keys_and_quoted_csv() {
        let (_dir, path) = write_table(
            b"caption,image\n\"dog face: animal, dog\",a.png\n\"say \"\"hi\"\"\",b.png\n",
        );
        let options = TsvOptions {
            image_key: "image".into(),
            caption_key: "caption".into(),
            separator: ',',
        };
        let records = read_pairs(&path, &options).unwrap();
        assert_eq!(records[0].caption, "dog face: animal, dog");
        assert_eq!(records[1].caption, "say \"hi\"");
        assert!(records[1].image_path.ends_with("b.png"));
    }

    #[test]
    fn missing_file_names_path() {
        let message = data_error(read_pairs(
            Path::new("/nonexistent/sparse-clip/train.tsv"),
            &TsvOptions::default(),
        ));
        assert!(
            message.contains("/nonexistent/sparse-clip/train.tsv"),
            "{message}"
        );
        assert!(message.contains("not found"), "{message}");
    }

    #[test]
    fn missing_columns_lists_found() {
        let (_dir, path) = write_table(b"image\tcaption\na.png\tdog\n");
        let message = data_error(read_pairs(&path, &TsvOptions::default()));
        assert!(message.contains("\"filepath\""), "{message}");
        assert!(message.contains("[\"image\", \"caption\"]"), "{message}");
    }

    #[test]
    fn empty_caption_names_line() {
        let (_dir, path) = write_table(b"filepath\ttitle\na.png\tdog\nb.png\t  \n");
        let message = data_error(read_pairs(&path, &TsvOptions::default()));
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("caption is empty"), "{message}");
    }

    #[test]
    fn wrong_field_count_names_line() {
        let (_dir, path) = write_table(b"filepath\ttitle\na.png\tdog\textra\n");
        let message = data_error(read_pairs(&path, &TsvOptions::default()));
        assert!(message.contains("line 2 has 3 fields"), "{message}");
    }

    #[test]
    fn invalid_utf8_names_line() {
        let (_dir, path) = write_table(b"filepath\ttitle\na.png\tdog\nb.png\tcaf\xe9\n");
        let message = data_error(read_pairs(&path, &TsvOptions::default()));
        assert!(message.contains("line 3 is not valid UTF-8"), "{message}");
    }

    #[test]
    fn unclosed_quote_is_rejected() {
        let (_dir, path) = write_table(b"filepath,title\na.png,\"dog\n");
        let options = TsvOptions {
            separator: ',',
            ..TsvOptions::default()
        };
        let message = data_error(read_pairs(&path, &options));
        assert!(message.contains("line 2, field 2"), "{message}");
    }

    #[test]
    fn written_table_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.tsv");
        let rows = vec![vec![
            "a.png".to_string(),
            "line one\nline\ttwo ".to_string(),
        ]];
        write_tsv(&path, &["filepath", "title"], &rows).unwrap();
        let records = read_pairs(&path, &TsvOptions::default()).unwrap();
        assert_eq!(records[0].caption, "line one line two");
    }
}
