//! Reading the features of a sparse code: statistics and modality, clarity, naming with a
//! vocabulary, explanations of single inputs, the HTML feature atlas, and training dynamics.
//!
//! Definitions read the L2-normalised code a(x) of an image or caption; feature i is on for x when
//! a_i(x) > tau (default 0.001).

pub mod atlas;
pub mod card;
pub mod clarity;
pub mod codes;
pub mod dynamics;
pub mod modality;
pub mod naming;
pub mod vocab;

pub use card::{FeatureAtlas, FeatureCard, ScoredImage, ScoredText};
