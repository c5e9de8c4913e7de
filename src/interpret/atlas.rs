//! The static HTML feature atlas: one page with a card per feature, searchable and sortable in the
//! browser with no server and no network access.
//!
//! [`write_atlas`] writes `index.html` and an `images/` folder with a copy of every image the cards
//! show, so the folder can be moved or shared as a whole. The page embeds its search index as a
//! `<script type="application/json">` block, because browsers block `fetch` of `file://` URLs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::interpret::card::{FeatureAtlas, FeatureCard, ScoredImage, ScoredText};
use crate::train::checkpoint::write_atomic;

/// Folder inside the atlas folder that receives the image copies.
const IMAGES_DIR: &str = "images";
/// Cards whose images load eagerly, so that a screenshot of the first screen shows them. The
/// images of later cards load lazily, when they scroll into view.
const EAGER_CARDS: usize = 24;
/// Missing images that get a warning each. Past this count only the total is logged.
const MAX_MISSING_WARNINGS: usize = 20;

/// Writes a static, self-contained HTML atlas into `out_dir`: `index.html` plus `images/` with a
/// copy of every image the cards show. Returns the path of index.html.
///
/// The page filters cards by a search box and sorts them by a select. A link such as
/// `index.html#q=dog&sort=modality` opens it with that search and order; the sort keys are `index`,
/// `density_image`, `density_text` and `modality`.
///
/// An image file that is missing or unreadable is logged with `tracing::warn!` and shown as a
/// placeholder. The only errors are failures to create or write the output folder and its files.
pub fn write_atlas(atlas: &FeatureAtlas, out_dir: &Path) -> Result<PathBuf> {
    let images_dir = out_dir.join(IMAGES_DIR);
    fs::create_dir_all(&images_dir).map_err(|e| Error::io("failed to create the atlas folder", &images_dir, e))?;

    let images = copy_images(atlas, &images_dir)?;
    let html = render_page(atlas, &images)?;

    let index = out_dir.join("index.html");
    write_atomic(&index, html.as_bytes())?;
    tracing::info!(
        path = %index.display(),
        features = atlas.features.len(),
        images = images.copied,
        missing_images = images.missing,
        "wrote the feature atlas"
    );
    Ok(index)
}

/// The image copies of one atlas.
struct CopiedImages {
    /// File name in `images/` for each source path, or None when the source could not be read.
    names: HashMap<String, Option<String>>,
    copied: usize,
    missing: usize,
}

/// Copies each distinct image of the cards once into `images_dir`.
fn copy_images(atlas: &FeatureAtlas, images_dir: &Path) -> Result<CopiedImages> {
    let mut images = CopiedImages {
        names: HashMap::new(),
        copied: 0,
        missing: 0,
    };
    let sources = atlas
        .features
        .iter()
        .flat_map(|card| card.top_images.iter())
        .map(|image| &image.path);
    for source in sources {
        if images.names.contains_key(source) {
            continue;
        }
        let name = match fs::read(source) {
            Ok(bytes) => {
                images.copied += 1;
                Some(write_image_copy(source, &bytes, images_dir)?)
            }
            Err(error) => {
                images.missing += 1;
                if images.missing <= MAX_MISSING_WARNINGS {
                    tracing::warn!(file = %source, %error, "atlas image is missing or unreadable, so its card shows a placeholder");
                }
                None
            }
        };
        images.names.insert(source.clone(), name);
    }
    if images.missing > MAX_MISSING_WARNINGS {
        tracing::warn!(
            missing = images.missing,
            logged = MAX_MISSING_WARNINGS,
            "atlas images are missing or unreadable, so their cards show placeholders"
        );
    }
    Ok(images)
}

/// Writes the copy of `source` into `images_dir` and returns its file name.
fn write_image_copy(source: &str, bytes: &[u8], images_dir: &Path) -> Result<String> {
    let name = image_file_name(source);
    let target = images_dir.join(&name);
    fs::write(&target, bytes).map_err(|e| Error::io("failed to write the atlas image", &target, e))?;
    Ok(name)
}

/// Names the copy of `source`: the first 16 hex digits of the SHA-256 of the path as given, plus
/// its extension in lower case. The same path always gets the same name, and distinct paths get
/// distinct names unless their hashes collide in 64 bits.
fn image_file_name(source: &str) -> String {
    let digest = Sha256::digest(source.as_bytes());
    let mut name = String::with_capacity(24);
    for byte in &digest[..8] {
        let _ = write!(name, "{byte:02x}");
    }
    if let Some(extension) = safe_extension(source) {
        name.push('.');
        name.push_str(&extension);
    }
    name
}

/// Returns the lower-case extension of `source` when it is short and ASCII alphanumeric, since it
/// ends up in a file name and a URL.
fn safe_extension(source: &str) -> Option<String> {
    let extension = Path::new(source).extension()?.to_str()?;
    let valid = !extension.is_empty() && extension.len() <= 8 && extension.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then(|| extension.to_ascii_lowercase())
}

fn render_page(atlas: &FeatureAtlas, images: &CopiedImages) -> Result<String> {
    let mut html = String::with_capacity(4096 + atlas.features.len() * 2048);
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(html, "<title>Feature atlas: {}</title>", escape_html(&atlas.model));
    let _ = writeln!(html, "<style>{STYLE}</style>\n</head>\n<body>");

    render_header(&mut html, atlas, images);
    render_controls(&mut html, atlas.features.len());
    html.push_str("<main id=\"cards\" class=\"cards\">\n");
    for (position, card) in atlas.features.iter().enumerate() {
        render_card(&mut html, card, images, position < EAGER_CARDS);
    }
    html.push_str("</main>\n<p id=\"no-match\" class=\"no-match\" hidden>No feature matches the search.</p>\n");

    let data = search_index_json(&atlas.features)?;
    let _ = writeln!(
        html,
        "<script type=\"application/json\" id=\"atlas-data\">{data}</script>"
    );
    let _ = writeln!(html, "<script>{SCRIPT}</script>\n</body>\n</html>");
    Ok(html)
}

fn render_header(html: &mut String, atlas: &FeatureAtlas, images: &CopiedImages) {
    let _ = writeln!(
        html,
        "<header class=\"page-head\">\n<h1>Feature atlas: {}</h1>",
        escape_html(&atlas.model)
    );
    html.push_str("<dl class=\"meta\">\n");
    meta_item(html, "Checkpoint", &escape_html(&atlas.checkpoint));
    let code = format!("{}, tau = {}", escape_html(&atlas.code), atlas.tau);
    meta_item(html, "Code", &code);
    let vocabulary = format!(
        "{} ({} words) {}",
        escape_html(&atlas.vocabulary),
        atlas.vocabulary_size,
        templates_details(&atlas.templates)
    );
    meta_item(html, "Vocabulary", &vocabulary);
    meta_item(html, "Image set", &escape_html(&atlas.image_set));
    let features = format!("{} cards of {} code dimensions", atlas.features.len(), atlas.code_dim);
    meta_item(html, "Features", &features);
    let copies = format!("{} copied, {} missing", images.copied, images.missing);
    meta_item(html, "Images", &copies);
    html.push_str("</dl>\n");
    html.push_str(LEGEND);
    html.push_str("</header>\n");
}

/// Writes one term of the header. `value_html` must already be escaped.
fn meta_item(html: &mut String, term: &str, value_html: &str) {
    let _ = writeln!(html, "<div><dt>{term}</dt><dd>{value_html}</dd></div>");
}

fn templates_details(templates: &[String]) -> String {
    let mut details = format!("<details><summary>{} prompt templates</summary><ul>", templates.len());
    for template in templates {
        let _ = write!(details, "<li>{}</li>", escape_html(template));
    }
    details.push_str("</ul></details>");
    details
}

fn render_controls(html: &mut String, feature_count: usize) {
    html.push_str("<div class=\"controls\">\n");
    html.push_str(
        "<input id=\"search\" type=\"search\" placeholder=\"Search names, top words and captions\" \
         aria-label=\"Search features by word\" autocomplete=\"off\">\n",
    );
    html.push_str(
        "<label>Sort <select id=\"sort\">\
         <option value=\"index\">by index</option>\
         <option value=\"density_image\">by image density</option>\
         <option value=\"density_text\">by text density</option>\
         <option value=\"modality\">by modality</option>\
         </select></label>\n",
    );
    let _ = writeln!(
        html,
        "<span id=\"counter\" class=\"counter\">{feature_count} of {feature_count} features</span>\n</div>"
    );
}

fn render_card(html: &mut String, card: &FeatureCard, images: &CopiedImages, eager: bool) {
    let _ = writeln!(
        html,
        "<article class=\"card\" id=\"feature-{0}\" data-index=\"{0}\">",
        card.index
    );
    let _ = writeln!(
        html,
        "<header class=\"card-head\"><span class=\"index\">#{}</span><h2 class=\"name\">{}</h2>{}</header>",
        card.index,
        escape_html(&card.name),
        modality_badge(card)
    );
    let _ = writeln!(
        html,
        "<p class=\"density\">density: images {}, captions {}</p>",
        format_percent(card.density_image),
        format_percent(card.density_text)
    );
    render_thumbnails(html, &card.top_images, images, eager);
    render_words(html, &card.top_words);
    render_captions(html, &card.top_captions);
    html.push_str("</article>\n");
}

fn modality_badge(card: &FeatureCard) -> String {
    let class = escape_html(&card.modality_class);
    let label = match card.modality {
        Some(score) => format!("{score:.2} {class}"),
        None => class.clone(),
    };
    let known = ["image-only", "text-only", "multimodal", "inactive"].contains(&card.modality_class.as_str());
    let style = if known { card.modality_class.as_str() } else { "other" };
    format!("<span class=\"modality modality-{style}\" title=\"modality score S_img / (S_img + S_txt)\">{label}</span>")
}

fn render_thumbnails(html: &mut String, top_images: &[ScoredImage], images: &CopiedImages, eager: bool) {
    if top_images.is_empty() {
        return;
    }
    let loading = if eager { "eager" } else { "lazy" };
    html.push_str("<div class=\"thumbs\">\n");
    for image in top_images {
        let value = format_value(image.value);
        let caption = escape_html(&image.caption);
        match images.names.get(&image.path).and_then(Option::as_ref) {
            Some(name) => {
                let _ = writeln!(
                    html,
                    "<figure class=\"thumb\" title=\"{caption} ({value})\"><img src=\"{IMAGES_DIR}/{}\" alt=\"{caption}\" \
                     loading=\"{loading}\"><figcaption>{value}</figcaption></figure>",
                    escape_html(name)
                );
            }
            None => {
                let _ = writeln!(
                    html,
                    "<figure class=\"thumb missing\" title=\"missing image {} &#10;{caption} ({value})\">\
                     <span>missing</span><figcaption>{value}</figcaption></figure>",
                    escape_html(&image.path)
                );
            }
        }
    }
    html.push_str("</div>\n");
}

fn render_words(html: &mut String, words: &[ScoredText]) {
    html.push_str("<h3>Top words</h3>\n");
    if words.is_empty() {
        html.push_str("<p class=\"none\">none</p>\n");
        return;
    }
    html.push_str("<ol class=\"words\">");
    for word in words {
        let _ = write!(
            html,
            "<li>{}<span class=\"value\">{}</span></li>",
            escape_html(&word.text),
            format_value(word.value)
        );
    }
    html.push_str("</ol>\n");
}

fn render_captions(html: &mut String, captions: &[ScoredText]) {
    html.push_str("<h3>Top captions</h3>\n");
    if captions.is_empty() {
        html.push_str("<p class=\"none\">none</p>\n");
        return;
    }
    html.push_str("<ol class=\"captions\">");
    for caption in captions {
        let _ = write!(
            html,
            "<li>{}<span class=\"value\">{}</span></li>",
            escape_html(&caption.text),
            format_value(caption.value)
        );
    }
    html.push_str("</ol>\n");
}

/// One card in the page's search index, in the same order as the card elements.
#[derive(Serialize)]
struct SearchEntry<'a> {
    index: i64,
    name: &'a str,
    words: Vec<&'a str>,
    captions: Vec<&'a str>,
    density_image: f64,
    density_text: f64,
    /// serde_json writes None and non-finite values as null, and the page sorts null last.
    modality: Option<f64>,
}

/// Serializes the search index for a `<script>` block. Every `<`, `>` and `&` (which JSON allows
/// only inside strings) becomes a `\u` escape, so no text can close the block or open a comment.
fn search_index_json(features: &[FeatureCard]) -> Result<String> {
    let entries: Vec<SearchEntry> = features
        .iter()
        .map(|card| SearchEntry {
            index: card.index,
            name: &card.name,
            words: card.top_words.iter().map(|word| word.text.as_str()).collect(),
            captions: card.top_captions.iter().map(|caption| caption.text.as_str()).collect(),
            density_image: card.density_image,
            density_text: card.density_text,
            modality: card.modality,
        })
        .collect();
    let json = serde_json::to_string(&entries)?;
    Ok(json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026"))
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

fn format_value(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.3}")
    } else {
        value.to_string()
    }
}

/// Formats a fraction as a percentage with two significant digits below 10 %, so that a rare
/// feature does not read as 0.0%.
fn format_percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "n/a".to_string();
    }
    let percent = fraction * 100.0;
    if percent == 0.0 || percent >= 10.0 {
        format!("{percent:.0}%")
    } else if percent >= 1.0 {
        format!("{percent:.1}%")
    } else {
        let decimals = (1.0 - percent.log10().floor()).clamp(2.0, 6.0) as usize;
        format!("{percent:.decimals$}%")
    }
}

const LEGEND: &str = "<p class=\"legend\"><b>Modality</b> is S_img / (S_img + S_txt), the share of the \
feature's activation mass on the paired set that comes from images: above 0.9 is image-only, below 0.1 \
text-only, otherwise multimodal.<br><b>Density</b> is the fraction of the set's images (or captions) on \
which the feature is on, that is, its activation exceeds tau.</p>\n";

const STYLE: &str = r#"
:root { --bg: #f4f5f7; --card: #fff; --ink: #1d2330; --muted: #5f6878; --line: #dde1e7; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.page-head { padding: 16px 24px 10px; }
h1 { font-size: 22px; margin: 0 0 8px; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; }
.meta div { display: flex; gap: 6px; align-items: baseline; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; font-weight: 500; overflow-wrap: anywhere; }
.meta details { display: inline-block; font-weight: 400; color: var(--muted); }
.meta summary { cursor: pointer; }
.legend { color: var(--muted); font-size: 12.5px; margin: 8px 0 0; }
.controls { position: sticky; top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: 8px 16px;
  align-items: center; padding: 8px 24px; background: rgba(244, 245, 247, 0.96);
  border-bottom: 1px solid var(--line); }
#search { flex: 0 1 380px; min-width: 200px; padding: 6px 10px; font: inherit;
  border: 1px solid #c5cbd4; border-radius: 6px; background: #fff; }
select { font: inherit; padding: 4px 6px; border-radius: 6px; border: 1px solid #c5cbd4; }
.counter { color: var(--muted); font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 14px;
  padding: 14px 24px 32px; align-items: start; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 10px 14px 12px; box-shadow: 0 1px 2px rgba(0, 0, 0, 0.04); min-width: 0; }
.card[hidden], .no-match[hidden] { display: none; }
.card-head { display: flex; align-items: baseline; gap: 8px; }
.index { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.name { flex: 1 1 auto; min-width: 0; margin: 0; font-size: 22px; line-height: 1.2;
  overflow-wrap: anywhere; }
.modality { flex: none; font-size: 12px; padding: 1px 8px; border-radius: 999px; background: #eef0f3;
  white-space: nowrap; font-variant-numeric: tabular-nums; }
.modality-image-only { background: #e1ebf7; color: #24507f; }
.modality-text-only { background: #fbe9d7; color: #87460c; }
.modality-multimodal { background: #e0f2e3; color: #235c30; }
.modality-inactive, .modality-other { color: var(--muted); }
.density { margin: 2px 0 8px; color: var(--muted); font-size: 12px; }
.thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(64px, 1fr)); gap: 6px;
  margin-bottom: 6px; }
.thumb { position: relative; margin: 0; aspect-ratio: 1; overflow: hidden; border-radius: 6px;
  background: #eceef1; }
.thumb img { display: block; width: 100%; height: 100%; object-fit: contain; }
.thumb figcaption { position: absolute; right: 2px; bottom: 2px; padding: 0 3px; border-radius: 3px;
  font-size: 10px; background: rgba(255, 255, 255, 0.85); font-variant-numeric: tabular-nums; }
.thumb.missing { display: flex; align-items: center; justify-content: center; color: var(--muted);
  font-size: 11px; background: repeating-linear-gradient(45deg, #f1f2f4 0 6px, #e6e8eb 6px 12px); }
h3 { margin: 8px 0 3px; font-size: 11px; letter-spacing: 0.05em; text-transform: uppercase;
  color: var(--muted); }
.words { display: flex; flex-wrap: wrap; gap: 4px; margin: 0; padding: 0; list-style: none; }
.words li { padding: 1px 6px; border-radius: 4px; background: #eef1f5; font-size: 12.5px; }
.captions { margin: 0; padding-left: 18px; font-size: 12.5px; }
.captions li { margin: 1px 0; overflow-wrap: anywhere; }
.value { margin-left: 5px; color: var(--muted); font-size: 11px; font-variant-numeric: tabular-nums; }
.none, .no-match { margin: 0; color: var(--muted); font-size: 12px; }
.no-match { padding: 0 24px 24px; font-size: 14px; }
"#;

/// Search, sort and the readiness marker for headless tests: once the eager images have loaded or
/// failed, `<body>` gets `data-cards`, `data-images-loaded` (eager images with a decoded size) and
/// `data-ready="1"`.
const SCRIPT: &str = r#"
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('atlas-data').textContent);
  const grid = document.getElementById('cards');
  const cards = Array.from(grid.querySelectorAll('.card'));
  const search = document.getElementById('search');
  const sort = document.getElementById('sort');
  const counter = document.getElementById('counter');
  const noMatch = document.getElementById('no-match');
  const entries = cards.map((element, position) => {
    const d = data[position];
    const text = [d.name, ...d.words, ...d.captions].join('\n').toLowerCase();
    return { d, element, position, text };
  });

  function filter() {
    const query = search.value.trim().toLowerCase();
    let visible = 0;
    for (const entry of entries) {
      const match = query === '' || entry.text.includes(query);
      entry.element.hidden = !match;
      if (match) visible += 1;
    }
    counter.textContent = visible + ' of ' + entries.length + ' features';
    noMatch.hidden = visible > 0;
  }

  // Sorts the largest value first and null (no modality) last. Ties keep index order.
  function byDescending(key) {
    return (a, b) => {
      const x = a.d[key];
      const y = b.d[key];
      if (x === y) return a.position - b.position;
      if (x === null) return 1;
      if (y === null) return -1;
      return y - x || a.position - b.position;
    };
  }

  function order() {
    const key = sort.value;
    const compare = key === 'index' ? (a, b) => a.position - b.position : byDescending(key);
    for (const entry of entries.slice().sort(compare)) grid.appendChild(entry.element);
  }

  function settled(image) {
    if (image.complete) return Promise.resolve();
    return new Promise((resolve) => {
      image.addEventListener('load', resolve, { once: true });
      image.addEventListener('error', resolve, { once: true });
    });
  }

  function markReady() {
    const eager = Array.from(document.querySelectorAll('img[loading="eager"]'));
    Promise.all(eager.map(settled)).then(() => {
      const body = document.body.dataset;
      body.cards = String(cards.length);
      body.imagesLoaded = String(eager.filter((image) => image.naturalWidth > 0).length);
      body.ready = '1';
    });
  }

  // A link such as index.html#q=dog&sort=modality opens the page with that search and order.
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.has('q')) search.value = params.get('q');
    const key = params.get('sort');
    if (key && Array.from(sort.options).some((option) => option.value === key)) sort.value = key;
  }

  search.addEventListener('input', filter);
  sort.addEventListener('change', order);
  window.addEventListener('hashchange', () => {
    readHash();
    filter();
    order();
  });
  readHash();
  filter();
  order();
  markReady();
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str, value: f64) -> ScoredText {
        ScoredText {
            text: text.to_string(),
            value,
        }
    }

    fn image(path: &Path, caption: &str, value: f64) -> ScoredImage {
        ScoredImage {
            path: path.to_string_lossy().into_owned(),
            caption: caption.to_string(),
            value,
        }
    }

    fn card(index: i64, name: &str, top_images: Vec<ScoredImage>) -> FeatureCard {
        FeatureCard {
            index,
            name: name.to_string(),
            top_words: vec![text(name, 0.5), text("other", 0.25)],
            top_images,
            top_captions: vec![text(&format!("a picture of {name}"), 0.4)],
            modality: Some(0.62),
            modality_class: "multimodal".to_string(),
            density_image: 0.032,
            density_text: 0.0004,
        }
    }

    fn atlas(features: Vec<FeatureCard>) -> FeatureAtlas {
        FeatureAtlas {
            model: "tiny-relu".to_string(),
            checkpoint: "runs/tiny/checkpoint-100".to_string(),
            code: "L2-normalised code, a_i > tau".to_string(),
            tau: 0.001,
            code_dim: 64,
            vocabulary: "wordnet".to_string(),
            vocabulary_size: 1000,
            templates: vec!["a photo of a {}.".to_string()],
            image_set: "data/val.tsv".to_string(),
            features,
        }
    }

    fn write_png(path: &Path) {
        let pixels = image::RgbImage::from_pixel(4, 4, image::Rgb([200, 30, 30]));
        pixels.save(path).unwrap();
    }

    /// Returns the text of the JSON data block.
    fn data_block(html: &str) -> &str {
        let open = "<script type=\"application/json\" id=\"atlas-data\">";
        let start = html.find(open).unwrap() + open.len();
        let end = start + html[start..].find("</script>").unwrap();
        &html[start..end]
    }

    #[test]
    fn atlas_has_one_card_per_feature() {
        let dir = tempfile::tempdir().unwrap();
        let features = (0..5).map(|i| card(i * 3, &format!("word{i}"), Vec::new())).collect();
        let index = write_atlas(&atlas(features), dir.path()).unwrap();
        let html = fs::read_to_string(&index).unwrap();

        assert_eq!(index, dir.path().join("index.html"));
        assert_eq!(html.matches("<article class=\"card\"").count(), 5);
        assert!(html.contains("id=\"feature-12\""));
        assert!(html.contains("5 of 5 features"));
        assert!(html.contains("0.62 multimodal"));
        assert!(html.contains("density: images 3.2%, captions 0.040%"));
        let data: serde_json::Value = serde_json::from_str(data_block(&html)).unwrap();
        assert_eq!(data.as_array().unwrap().len(), 5);
    }

    #[test]
    fn markup_escapes_names_and_captions() {
        let dir = tempfile::tempdir().unwrap();
        let mut feature = card(0, "<script>alert(1)</script> & co", Vec::new());
        feature.top_captions = vec![text("fish & <b>chips</b> \"quoted\"", 0.3)];
        let html = fs::read_to_string(write_atlas(&atlas(vec![feature]), dir.path()).unwrap()).unwrap();

        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(html.contains("fish &amp; &lt;b&gt;chips&lt;/b&gt; &quot;quoted&quot;"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>chips"));
    }

    #[test]
    fn data_block_cannot_close_script() {
        let dir = tempfile::tempdir().unwrap();
        let name = "</script><script>alert(1)</script><!--";
        let mut feature = card(0, name, Vec::new());
        feature.top_words = vec![text("</SCRIPT >", 0.1)];
        let html = fs::read_to_string(write_atlas(&atlas(vec![feature]), dir.path()).unwrap()).unwrap();

        // Only the two script elements of the page itself close.
        assert_eq!(html.to_ascii_lowercase().matches("</script").count(), 2);
        let data: serde_json::Value = serde_json::from_str(data_block(&html)).unwrap();
        assert_eq!(data[0]["name"], name);
        assert_eq!(data[0]["words"][0], "</SCRIPT >");
    }

    #[test]
    fn image_copies_are_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared.PNG");
        let single = dir.path().join("single.png");
        write_png(&shared);
        write_png(&single);
        let features = vec![
            card(
                0,
                "red",
                vec![image(&shared, "a red square", 0.9), image(&single, "another", 0.5)],
            ),
            card(1, "square", vec![image(&shared, "a red square", 0.7)]),
        ];
        let out = dir.path().join("atlas");
        let html = fs::read_to_string(write_atlas(&atlas(features), &out).unwrap()).unwrap();

        let mut copies: Vec<String> = fs::read_dir(out.join(IMAGES_DIR))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        copies.sort();
        let shared_name = image_file_name(&shared.to_string_lossy());
        let single_name = image_file_name(&single.to_string_lossy());
        let mut expected = vec![shared_name.clone(), single_name.clone()];
        expected.sort();
        assert_eq!(copies, expected);
        assert_eq!(html.matches(&format!("src=\"images/{shared_name}\"")).count(), 2);
        assert_eq!(
            fs::read(out.join(IMAGES_DIR).join(&shared_name)).unwrap(),
            fs::read(&shared).unwrap()
        );
        assert!(html.contains("2 copied, 0 missing"));
    }

    #[test]
    fn image_names_are_stable() {
        let name = image_file_name("/data/images/cat.WebP");

        assert_eq!(name, image_file_name("/data/images/cat.WebP"));
        assert_eq!(name.len(), 16 + ".webp".len());
        assert!(name.ends_with(".webp"));
        assert!(name[..16].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(name, image_file_name("/data/images/dog.WebP"));
        assert_eq!(image_file_name("no-extension").len(), 16);
        assert_eq!(image_file_name("odd.p\"ng").len(), 16);
    }

    #[test]
    fn missing_image_gets_placeholder() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("does-not-exist.png");
        let features = vec![card(0, "ghost", vec![image(&missing, "a ghost", 0.8)])];
        let out = dir.path().join("atlas");
        let html = fs::read_to_string(write_atlas(&atlas(features), &out).unwrap()).unwrap();

        assert!(html.contains("<figure class=\"thumb missing\""));
        assert!(html.contains("does-not-exist.png"));
        assert!(!html.contains("<img "));
        assert!(html.contains("0 copied, 1 missing"));
        assert_eq!(fs::read_dir(out.join(IMAGES_DIR)).unwrap().count(), 0);
    }

    #[test]
    fn only_first_cards_load_eagerly() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("one.png");
        write_png(&png);
        let features = (0..30)
            .map(|i| card(i, "dot", vec![image(&png, "a dot", 0.5)]))
            .collect();
        let html = fs::read_to_string(write_atlas(&atlas(features), &dir.path().join("atlas")).unwrap()).unwrap();

        assert_eq!(html.matches(" loading=\"eager\"").count(), EAGER_CARDS);
        assert_eq!(html.matches(" loading=\"lazy\"").count(), 30 - EAGER_CARDS);
    }

    #[test]
    fn unwritable_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        fs::write(&file, b"not a folder").unwrap();
        let out = file.join("atlas");

        let error = write_atlas(&atlas(Vec::new()), &out).unwrap_err();
        assert!(error.to_string().contains("a-file/atlas"), "{error}");
    }

    #[test]
    fn percentages_keep_small_densities() {
        assert_eq!(format_percent(0.0), "0%");
        assert_eq!(format_percent(0.5), "50%");
        assert_eq!(format_percent(0.032), "3.2%");
        assert_eq!(format_percent(0.0004), "0.040%");
        assert_eq!(format_percent(0.0000123), "0.0012%");
        assert_eq!(format_percent(f64::NAN), "n/a");
    }
}
