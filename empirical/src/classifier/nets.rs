//! Classifier networks (Sec. 5, App. G.1/G.2): MLP (input centred per image, 3*32*32 -> 512 ->
//! 128 -> 3; NT-Xent on the last hidden layer before its ReLU), ResNet-8 (conv
//! stem + 3 residual stages of 2 convs + linear head = 8 weight layers) and a U-Net encoder
//! classifier (the U-Net's down path: double convs + max-pool, time embedding added per block,
//! optional self-attention, global average pool, linear head). With `noisy`, the classifier is
//! f_theta(x_t, t): the sinusoidal time embedding of `crate::model::time_embedding` is passed
//! through Linear + SiLU and projected into every block (the MLP: into its first hidden layer).
//! Every weight is drawn from the caller's ChaCha8 stream (the layers of `crate::model`).
use burn::module::Module;
use burn::tensor::activation::{relu, silu};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::max_pool2d;
use burn::tensor::Tensor;
use rand_chacha::ChaCha8Rng;

use super::config::{Arch, ClassifierConfig};
use crate::config::Norm;
use crate::model::{time_embedding, Conv, GroupNorm, Lin, SelfAttention};

/// Number of contrastive classes (0, 1 = fine rule kept, 2).
pub const NUM_CLASSES: usize = 3;
const GROUPS: usize = 4;

/// conv3x3 -> GN -> ReLU (+ time projection) -> conv3x3 -> GN, then ReLU(h + skip(x)) when
/// residual (ResNet basic block) or ReLU(h) (U-Net double conv).
#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    pub conv1: Conv<B>,
    pub norm1: GroupNorm<B>,
    pub conv2: Conv<B>,
    pub norm2: GroupNorm<B>,
    /// 1x1 projection of the skip path when channels change (residual blocks only).
    pub skip: Option<Conv<B>>,
    /// Time-embedding projection to `c_out` (noisy classifiers only).
    pub temb: Option<Lin<B>>,
    pub residual: bool,
}

impl<B: Backend> Block<B> {
    fn new(
        c_in: usize,
        c_out: usize,
        residual: bool,
        temb_dim: Option<usize>,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        Block {
            conv1: Conv::new(c_in, c_out, 3, rng, device),
            norm1: GroupNorm::new(Norm::Group, GROUPS, c_out, device),
            conv2: Conv::new(c_out, c_out, 3, rng, device),
            norm2: GroupNorm::new(Norm::Group, GROUPS, c_out, device),
            skip: (residual && c_in != c_out).then(|| Conv::new(c_in, c_out, 1, rng, device)),
            temb: temb_dim.map(|d| Lin::new(d, c_out, rng, device)),
            residual,
        }
    }

    fn forward(&self, x: Tensor<B, 4>, emb: Option<&Tensor<B, 2>>) -> Tensor<B, 4> {
        let mut h = relu(self.norm1.forward(self.conv1.forward(x.clone())));
        if let (Some(p), Some(e)) = (&self.temb, emb) {
            let e = p.forward2(e.clone());
            let [n, c] = e.dims();
            h = h + e.reshape([n, c, 1, 1]);
        }
        let h = self.norm2.forward(self.conv2.forward(h));
        if self.residual {
            let s = match &self.skip {
                Some(s) => s.forward(x),
                None => x,
            };
            relu(h + s)
        } else {
            relu(h)
        }
    }
}

/// `x - mean_{h,w}(x)` per image and channel, the MLP's parameter-free input normalisation.
///
/// The contrastive images are mostly flat background (Sec. 5 sets on the [-1, 1] scale: mean
/// pixel about 0.9, the mean image carries about 95 % of the input energy), so without it every
/// first-layer pre-activation w.x + b is dominated by one input-independent term. AdamW moves
/// each weight by about lr per step, which shifts that term by up to lr * ||mean image||_1
/// (0.7 at lr 1e-3 on 16x16 inputs) for every image at once, several times the between-image
/// spread of a unit; units are then switched off on every image, receive no gradient again, and
/// the whole layer ends dead (constant logits, the loss back at its chance value). The conv
/// classifiers normalise per image after their first convolution (GroupNorm) instead.
fn centre_per_image<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let mean = x
        .clone()
        .reshape([n, c, h * w])
        .mean_dim(2)
        .reshape([n, c, 1, 1]);
    x - mean
}

/// A 3-class classifier; which fields are set depends on the architecture.
#[derive(Module, Debug)]
pub struct Classifier<B: Backend> {
    /// MLP: flatten -> hidden 0 -> hidden 1.
    pub fc1: Option<Lin<B>>,
    pub fc2: Option<Lin<B>>,
    /// MLP: time projection to hidden 0.
    pub fc_temb: Option<Lin<B>>,
    /// ResNet-8 stem conv.
    pub stem: Option<Conv<B>>,
    pub stem_norm: Option<GroupNorm<B>>,
    /// ResNet stages / U-Net encoder blocks.
    pub blocks: Vec<Block<B>>,
    pub attention: Option<SelfAttention<B>>,
    /// Time embedding MLP (Linear + SiLU) of noisy classifiers.
    pub time_mlp: Option<Lin<B>>,
    pub head: Lin<B>,
    pub noisy: bool,
    pub time_emb_dim: usize,
}

impl<B: Backend> Classifier<B> {
    /// The network of `cfg` (arch, widths, noisy, time_emb_dim, image_size), weights from `rng`.
    pub fn new(cfg: &ClassifierConfig, rng: &mut ChaCha8Rng, device: &B::Device) -> Self {
        let w = &cfg.widths;
        let td = cfg.time_emb_dim;
        let temb = cfg.noisy.then_some(td);
        let time_mlp = cfg.noisy.then(|| Lin::new(td, td, rng, device));
        let d_in = 3 * (cfg.image_size as usize).pow(2);
        let mut c = Classifier {
            fc1: None,
            fc2: None,
            fc_temb: None,
            stem: None,
            stem_norm: None,
            blocks: Vec::new(),
            attention: None,
            time_mlp,
            head: Lin::new(*w.last().unwrap_or(&1), NUM_CLASSES, rng, device),
            noisy: cfg.noisy,
            time_emb_dim: td,
        };
        match cfg.arch {
            Arch::Mlp => {
                c.fc1 = Some(Lin::new(d_in, w[0], rng, device));
                c.fc_temb = temb.map(|d| Lin::new(d, w[0], rng, device));
                c.fc2 = Some(Lin::new(w[0], w[1], rng, device));
            }
            Arch::Resnet8 => {
                c.stem = Some(Conv::new(3, w[0], 3, rng, device));
                c.stem_norm = Some(GroupNorm::new(Norm::Group, GROUPS, w[0], device));
                let mut cin = w[0];
                for &co in w {
                    c.blocks.push(Block::new(cin, co, true, temb, rng, device));
                    cin = co;
                }
            }
            Arch::Unet => {
                let mut cin = 3;
                for &co in w {
                    c.blocks.push(Block::new(cin, co, false, temb, rng, device));
                    cin = co;
                }
                if cfg.attention {
                    c.attention = Some(SelfAttention::new(cin, 4, rng, device));
                }
            }
        }
        c
    }

    fn emb(&self, t: &[usize], n: usize, device: &B::Device) -> Option<Tensor<B, 2>> {
        let m = self.time_mlp.as_ref()?;
        assert_eq!(
            t.len(),
            n,
            "noisy classifier needs one step index per sample"
        );
        Some(silu(m.forward2(time_embedding::<B>(
            t,
            self.time_emb_dim,
            device,
        ))))
    }

    /// `(z, logits)`: z `[N, d]` is the representation NT-Xent acts on (Eq. 9), logits `[N, 3]`.
    /// MLP: z is the last hidden layer before its ReLU (the linear output of a projection head, as
    /// in SimCLR's NT-Xent) and the head reads ReLU(z). On ReLU outputs every cosine lies in
    /// [0, 1], so the negatives' term of Eq. 9 can only fall by switching units off, which drives
    /// the layer into the dead-unit state where the loss is stuck at log 3 + lambda log(B - 1).
    /// Conv nets: z is the global-average-pooled last block (GroupNorm, zero mean per image and
    /// group before the ReLU, keeps every group active on every image).
    /// The MLP sees its input centred per image and channel ([`centre_per_image`]).
    /// `t` (0-based step indices) is ignored by clean classifiers.
    pub fn forward_features(&self, x: Tensor<B, 4>, t: &[usize]) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let [n, ch, hh, ww] = x.dims();
        let device = x.device();
        let emb = self.emb(t, n, &device);
        let (z, feat) = if let (Some(f1), Some(f2)) = (&self.fc1, &self.fc2) {
            let mut h = f1.forward2(centre_per_image(x).reshape([n, ch * hh * ww]));
            if let (Some(p), Some(e)) = (&self.fc_temb, &emb) {
                h = h + p.forward2(e.clone());
            }
            let pre = f2.forward2(relu(h));
            (pre.clone(), relu(pre))
        } else {
            let mut h = x;
            let unet = self.stem.is_none();
            if let (Some(s), Some(gn)) = (&self.stem, &self.stem_norm) {
                h = relu(gn.forward(s.forward(h)));
            }
            let nb = self.blocks.len();
            for (i, b) in self.blocks.iter().enumerate() {
                // ResNet: stages 2 and 3 halve the resolution first; U-Net: pool after each
                // block but the last.
                if !unet && i > 0 {
                    h = max_pool2d(h, [2, 2], [2, 2], [0, 0], [1, 1], false);
                }
                h = b.forward(h, emb.as_ref());
                if unet && i + 1 < nb {
                    h = max_pool2d(h, [2, 2], [2, 2], [0, 0], [1, 1], false);
                }
            }
            if let Some(a) = &self.attention {
                h = a.forward(h);
            }
            let [n, c, hh, ww] = h.dims();
            let pooled = h.reshape([n, c, hh * ww]).mean_dim(2).reshape([n, c]);
            (pooled.clone(), pooled)
        };
        let logits = self.head.forward2(feat);
        (z, logits)
    }

    /// Logits `[N, 3]` of f_theta(x_t, t) (clean classifiers ignore `t`; pass `&[]`).
    pub fn forward(&self, x: Tensor<B, 4>, t: &[usize]) -> Tensor<B, 2> {
        self.forward_features(x, t).1
    }
}

impl<BA: AutodiffBackend> crate::guidance::NoisyClassifier<BA> for Classifier<BA> {
    fn logits(&self, x: Tensor<BA, 4>, t: &[usize]) -> Tensor<BA, 2> {
        self.forward(x, t)
    }
}
