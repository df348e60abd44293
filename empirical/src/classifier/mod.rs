//! Noise-aware and clean-image 3-class classifiers for guidance and filtering (Sec. 5, App. G):
//! [`config`] (presets), [`data`] (contrastive set), [`nets`] (MLP, ResNet-8, U-Net encoder),
//! [`loss`] (CE + lambda NT-Xent, Eq. 3 / Eq. 9), [`train`] (resumable loop, eval.json),
//! [`filter`] (Filtered DDPM, App. G.2).
pub mod config;
pub mod data;
pub mod filter;
pub mod loss;
pub mod nets;
pub mod train;
