//! One comparison row per model, so that the dense baseline, Sparse CLIP and SAEs on the dense
//! model fill the same table: downstream retrieval and zero-shot accuracy, sparsity, modality
//! shares and clarity of the features.
//!
//! For an SAE, the downstream tasks read its reconstruction of the dense embedding, and the
//! features are its latents, L2-normalised like a sparse code before tau applies.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::Result;
use crate::eval::datasets::RetrievalSet;
use crate::eval::{sparsity_stats, Builtin, DataRoots, DatasetSource, Evaluator, SuiteOptions, Task};
use crate::interpret::clarity::{feature_clarity, mean_clarity, random_pair_baseline, top_k_mask};
use crate::interpret::codes::encode_set;
use crate::interpret::modality::{modality_scores, modality_stats};
use crate::model::l2_normalize;
use crate::sae::{Sae, SaeMetrics};
use crate::train::checkpoint::LoadedModel;

/// Images per feature for `clarity_top16`.
pub const CLARITY_TOP_K: i64 = 16;

/// A model's row of the comparison table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    pub model: String,
    /// `dense`, `sparse_clip`, `sae_topk` or `sae_relu_l1`.
    pub kind: String,
    /// Width of the features (code dimensions or SAE latents).
    pub dict_size: i64,
    /// Held-out emoji style, caption queries.
    pub image_retrieval_recall_at_5: f64,
    pub text_retrieval_recall_at_5: f64,
    /// Zero-shot accuracy on the held-out style's emoji groups and subgroups.
    pub acc1_category: f64,
    pub acc1_subcategory: f64,
    pub l0_image: f64,
    pub l0_image_fraction: f64,
    pub l0_text: f64,
    pub dead_fraction: f64,
    pub image_only_share: f64,
    pub multimodal_share: f64,
    pub text_only_share: f64,
    pub clarity: f64,
    pub clarity_top16: f64,
    pub clarity_baseline: f64,
    /// SAE reconstruction metrics on the same set's image and caption embeddings.
    pub reconstruction: Option<SaeMetrics>,
}

/// Data and settings every row is measured with.
pub struct CompareContext<'a> {
    pub roots: &'a DataRoots,
    pub options: &'a SuiteOptions,
    /// The held-out emoji set.
    pub set: &'a RetrievalSet,
    /// Normalised reference image embeddings of the set's images [N, E].
    pub reference: &'a Tensor,
}

/// Measures one model, or an SAE on top of it when `sae` is given.
pub fn compare_row(loaded: &LoadedModel, model: &str, sae: Option<&Sae>, context: &CompareContext) -> Result<ComparisonRow> {
    let options = context.options;
    let reconstruct = |code: &Tensor| match sae {
        Some(sae) => tch::no_grad(|| sae.forward(&l2_normalize(code).to_device(sae.w_dec.device())).reconstruction.to_device(code.device())),
        None => code.shallow_clone(),
    };
    let evaluator = Evaluator { loaded, model_name: model.to_string(), options, transform: Some(&reconstruct) };
    let retrieval = evaluator.retrieval(context.set)?;
    let category = evaluator.run(&DatasetSource::Builtin(Builtin::EmojiCategory), Task::ZeroshotClassification, context.roots)?;
    let subcategory = evaluator.run(&DatasetSource::Builtin(Builtin::EmojiSubcategory), Task::ZeroshotClassification, context.roots)?;

    // Features: the model's normalised code, or the SAE's normalised latents of it.
    let encoded = encode_set(loaded, context.set, options.batch_size, options.device)?;
    let latents = |embed: &Tensor| match sae {
        Some(sae) => tch::no_grad(|| l2_normalize(&sae.forward(&embed.to_device(sae.w_dec.device())).latents).to_device(embed.device())),
        None => embed.shallow_clone(),
    };
    let (image_features, text_features) = (latents(&encoded.image_embed), latents(&encoded.text_embed));
    let kind = match sae {
        Some(sae) => format!("sae_{}", sae.config.kind.name()),
        None if loaded.model.config.sparse_cfg.head.is_non_negative() => "sparse_clip".into(),
        None => "dense".into(),
    };
    let signed = kind == "dense";
    let stats = sparsity_stats(&image_features, &text_features, options.tau, options.n_min, signed);
    let modality = modality_stats(&modality_scores(&image_features, &text_features));
    let on = image_features.gt(options.tau);
    let (clarity, _) = mean_clarity(&feature_clarity(&on, context.reference, options.n_min));
    let top = top_k_mask(&image_features, CLARITY_TOP_K, options.tau);
    let (clarity_top16, _) = mean_clarity(&feature_clarity(&top, context.reference, 2));
    let reconstruction = sae.map(|sae| {
        let inputs = Tensor::cat(&[&encoded.image_embed, &encoded.text_embed], 0);
        crate::sae::evaluate_sae(sae, &inputs, sae.w_dec.device())
    });

    Ok(ComparisonRow {
        model: model.to_string(),
        kind,
        dict_size: stats.code_dim,
        image_retrieval_recall_at_5: retrieval.metrics.get("image_retrieval_recall@5").copied().unwrap_or(f64::NAN),
        text_retrieval_recall_at_5: retrieval.metrics.get("text_retrieval_recall@5").copied().unwrap_or(f64::NAN),
        acc1_category: category[0].metrics["acc1"],
        acc1_subcategory: subcategory[0].metrics["acc1"],
        l0_image: stats.l0_image,
        l0_image_fraction: stats.l0_image_fraction,
        l0_text: stats.l0_text,
        dead_fraction: stats.dead_fraction,
        image_only_share: modality.image_only_share,
        multimodal_share: modality.multimodal_share,
        text_only_share: modality.text_only_share,
        clarity,
        clarity_top16,
        clarity_baseline: random_pair_baseline(context.reference),
        reconstruction,
    })
}
