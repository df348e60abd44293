//! Losses of the classifier (Eq. 3, Eq. 9).
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

fn one_hot<B: Backend>(labels: &[usize], k: usize, device: &B::Device) -> Tensor<B, 2> {
    let mut v = vec![0f32; labels.len() * k];
    for (i, &l) in labels.iter().enumerate() {
        v[i * k + l] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, [labels.len(), k]), device)
}

/// Mean cross-entropy -1/N sum_i log softmax(logits_i)[y_i] (L_classification of Eq. 3).
/// `labels[i] < classes`.
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, labels: &[usize]) -> Tensor<B, 1> {
    let [n, k] = logits.dims();
    let oh = one_hot::<B>(labels, k, &logits.device());
    (log_softmax(logits, 1) * oh)
        .sum()
        .neg()
        .div_scalar(n as f32)
}

/// Supervised NT-Xent (Eq. 9, App. G.1) with positives = same-label pairs. Reading used:
/// sim = cosine similarity; for every ordered pair (i, j), i != j, labels equal,
/// l(i, j) = -log( exp(sim_ij / tau) / sum_{k != i} exp(sim_ik / tau) ); the loss is the mean of
/// l(i, j) over all such pairs (the 2N-view denominator of Eq. 9 becomes the batch minus i).
/// A batch without any positive pair gives 0. Log-sum-exp with the row maximum for stability.
pub fn nt_xent<B: Backend>(z: Tensor<B, 2>, labels: &[usize], tau: f64) -> Tensor<B, 1> {
    let [n, _] = z.dims();
    let device = z.device();
    let mut pos = vec![0f32; n * n];
    let mut diag = vec![0f32; n * n];
    let mut count = 0usize;
    for i in 0..n {
        diag[i * n + i] = 1.0;
        for j in 0..n {
            if i != j && labels[i] == labels[j] {
                pos[i * n + j] = 1.0;
                count += 1;
            }
        }
    }
    if count == 0 {
        return Tensor::zeros([1], &device);
    }
    let norm = z.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    let zn = z / norm;
    let s = zn.clone().matmul(zn.transpose()).div_scalar(tau as f32);
    let diag = Tensor::<B, 2>::from_data(TensorData::new(diag, [n, n]), &device);
    // exclude k = i: shift the diagonal far below every other entry
    let masked = s.clone() - diag.mul_scalar(1e9);
    let m = masked.clone().max_dim(1).detach();
    let lse = (masked - m.clone()).exp().sum_dim(1).log() + m; // [n, 1]
    let pos = Tensor::<B, 2>::from_data(TensorData::new(pos, [n, n]), &device);
    ((lse - s) * pos).sum().div_scalar(count as f32)
}

/// Eq. 3: L = L_classification + lambda * L_contrastive; returns (total, ce, nt_xent).
pub fn total_loss<B: Backend>(
    z: Tensor<B, 2>,
    logits: Tensor<B, 2>,
    labels: &[usize],
    lambda: f64,
    tau: f64,
) -> (Tensor<B, 1>, Tensor<B, 1>, Tensor<B, 1>) {
    let ce = cross_entropy(logits, labels);
    let nt = nt_xent(z, labels, tau);
    (ce.clone() + nt.clone().mul_scalar(lambda as f32), ce, nt)
}
