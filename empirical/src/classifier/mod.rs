//! Noise-aware and clean-image 3-class classifiers for guidance and filtering (Sec. 5, App. G).
//! (Being written; see issue 6.)
