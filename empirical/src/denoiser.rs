//! The noise predictor eps_theta(x_t, t) seen by the training objective and the samplers
//! (Ho et al. 2020, Eq. 4 and Algorithm 2), kept apart from any one network: the U-Net of
//! [`crate::model`] is one implementation, and any other backbone plugs in through the trait.
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::model::UNet;

/// A network predicting the noise eps of x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.
pub trait Denoiser<B: Backend> {
    /// eps_theta(x_t, t) `[N, C, H, W]` for noisy images `x` `[N, C, H, W]` at 0-based step
    /// indices `t` (one per sample; index t stands for the paper's step t + 1, as in
    /// [`crate::schedule`]).
    fn predict_eps(&self, x: Tensor<B, 4>, t: &[usize]) -> Tensor<B, 4>;
}

impl<B: Backend> Denoiser<B> for UNet<B> {
    fn predict_eps(&self, x: Tensor<B, 4>, t: &[usize]) -> Tensor<B, 4> {
        self.forward(x, t)
    }
}
