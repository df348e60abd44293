//! U-Net denoiser eps_theta(x_t, t) (Sec. 3.2, App. D.1; layout of the authors' IDDM-derived code):
//! double 3x3 convolutions with normalisation and activation,
//! max-pool down blocks and bilinear up blocks with skip connections, multi-head self-attention
//! after blocks at configured resolutions, a sinusoidal time embedding added in every block,
//! and a final 1x1 convolution.
//!
//! Layers are written on burn's functional ops (`conv2d`, `max_pool2d`, `interpolate`) so that
//! every weight is initialised from the run's own ChaCha8 stream (PyTorch's default
//! U(-1/sqrt(fan_in), 1/sqrt(fan_in))): burn's initialisers draw from one global backend RNG,
//! which makes parallel tests and resumed runs non-deterministic.
use burn::module::{Module, Param};
use burn::tensor::activation;
use burn::tensor::backend::Backend;
use burn::tensor::module::max_pool2d;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::config::{Activation, ModelConfig, Norm};
use crate::ops;

/// A tensor of `shape` with entries U(-bound, bound) drawn from `rng`.
fn uniform<B: Backend, const D: usize>(
    rng: &mut ChaCha8Rng,
    shape: [usize; D],
    bound: f64,
    device: &B::Device,
) -> Tensor<B, D> {
    let n: usize = shape.iter().product();
    let b = bound as f32;
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-b..=b)).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn constant<B: Backend>(n: usize, value: f32, device: &B::Device) -> Tensor<B, 1> {
    Tensor::from_data(TensorData::new(vec![value; n], [n]), device)
}

/// 2-D convolution, stride 1, "same" zero padding (k / 2), with bias.
#[derive(Module, Debug)]
pub struct Conv<B: Backend> {
    pub weight: Param<Tensor<B, 4>>,
    pub bias: Param<Tensor<B, 1>>,
    pub padding: usize,
}

impl<B: Backend> Conv<B> {
    /// `c_in -> c_out` convolution with a `k x k` kernel.
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        let bound = 1.0 / ((c_in * k * k) as f64).sqrt();
        Conv {
            weight: Param::from_tensor(uniform(rng, [c_out, c_in, k, k], bound, device)),
            bias: Param::from_tensor(uniform(rng, [c_out], bound, device)),
            padding: k / 2,
        }
    }
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let p = self.padding;
        // burn's `conv2d`, with the im2col + GEMM backward on burn-flex (see `ops::conv`)
        ops::conv::conv2d_bias(
            x,
            self.weight.val(),
            self.bias.val(),
            ops::conv::Conv2dSpec { padding: [p, p] },
        )
    }
}

/// Affine map `x W + b` on the last dimension.
#[derive(Module, Debug)]
pub struct Lin<B: Backend> {
    /// `[d_in, d_out]`.
    pub weight: Param<Tensor<B, 2>>,
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> Lin<B> {
    pub fn new(d_in: usize, d_out: usize, rng: &mut ChaCha8Rng, device: &B::Device) -> Self {
        let bound = 1.0 / (d_in as f64).sqrt();
        Lin {
            weight: Param::from_tensor(uniform(rng, [d_in, d_out], bound, device)),
            bias: Param::from_tensor(uniform(rng, [d_out], bound, device)),
        }
    }
    pub fn forward2(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        x.matmul(self.weight.val()) + self.bias.val().unsqueeze::<2>()
    }
    pub fn forward3(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [n, l, d] = x.dims();
        let d_out = self.bias.val().dims()[0];
        self.forward2(x.reshape([n * l, d])).reshape([n, l, d_out])
    }
}

/// GroupNorm (biased variance, eps 1e-5, per-channel affine), or identity for `Norm::None`.
#[derive(Module, Debug)]
pub struct GroupNorm<B: Backend> {
    pub gamma: Option<Param<Tensor<B, 1>>>,
    pub beta: Option<Param<Tensor<B, 1>>>,
    pub groups: usize,
}

impl<B: Backend> GroupNorm<B> {
    pub fn new(kind: Norm, groups: usize, channels: usize, device: &B::Device) -> Self {
        match kind {
            Norm::Group => GroupNorm {
                gamma: Some(Param::from_tensor(constant(channels, 1.0, device))),
                beta: Some(Param::from_tensor(constant(channels, 0.0, device))),
                groups,
            },
            Norm::None => GroupNorm {
                gamma: None,
                beta: None,
                groups,
            },
        }
    }
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_act(x, ops::Act::Identity)
    }
    /// GroupNorm, affine map, then `activation`, as one fused op where the backend has one
    /// ([`crate::ops::group_norm_act`]).
    pub fn forward_act(&self, x: Tensor<B, 4>, activation: ops::Act) -> Tensor<B, 4> {
        let (Some(gamma), Some(beta)) = (&self.gamma, &self.beta) else {
            return ops::composite::act(activation, x);
        };
        let spec = ops::GroupNormSpec {
            groups: self.groups,
            eps: 1e-5,
            act: activation,
        };
        ops::group_norm_act(x, gamma.val(), beta.val(), spec)
    }
}

/// LayerNorm over the last dimension (eps 1e-5).
#[derive(Module, Debug)]
pub struct LayerNorm<B: Backend> {
    pub gamma: Param<Tensor<B, 1>>,
    pub beta: Param<Tensor<B, 1>>,
}

impl<B: Backend> LayerNorm<B> {
    pub fn new(d: usize, device: &B::Device) -> Self {
        LayerNorm {
            gamma: Param::from_tensor(constant(d, 1.0, device)),
            beta: Param::from_tensor(constant(d, 0.0, device)),
        }
    }
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let mean = x.clone().mean_dim(2);
        let centred = x - mean;
        let var = centred.clone().powi_scalar(2).mean_dim(2);
        centred / (var + 1e-5).sqrt() * self.gamma.val().unsqueeze::<3>()
            + self.beta.val().unsqueeze::<3>()
    }
}

fn act<B: Backend, const D: usize>(a: Activation, x: Tensor<B, D>) -> Tensor<B, D> {
    ops::composite::act(to_act(a), x)
}

/// The fused ops' name of an activation.
fn to_act(a: Activation) -> ops::Act {
    match a {
        Activation::Relu => ops::Act::Relu,
        Activation::Gelu => ops::Act::Gelu,
        Activation::Silu => ops::Act::Silu,
    }
}

/// conv3x3 -> norm -> act -> conv3x3 -> norm, optionally residual: act(x + f(x)).
#[derive(Module, Debug)]
pub struct DoubleConv<B: Backend> {
    pub conv1: Conv<B>,
    pub norm1: GroupNorm<B>,
    pub conv2: Conv<B>,
    pub norm2: GroupNorm<B>,
    pub residual: bool,
    #[module(skip)]
    pub activation: Activation,
}

impl<B: Backend> DoubleConv<B> {
    pub fn new(
        c_in: usize,
        c_mid: usize,
        c_out: usize,
        residual: bool,
        cfg: &ModelConfig,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        DoubleConv {
            conv1: Conv::new(c_in, c_mid, 3, rng, device),
            norm1: GroupNorm::new(cfg.norm, cfg.norm_groups, c_mid, device),
            conv2: Conv::new(c_mid, c_out, 3, rng, device),
            norm2: GroupNorm::new(cfg.norm, cfg.norm_groups, c_out, device),
            residual,
            activation: cfg.activation,
        }
    }
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let h = self
            .norm1
            .forward_act(self.conv1.forward(x.clone()), to_act(self.activation));
        let h = self.norm2.forward(self.conv2.forward(h));
        if self.residual {
            act(self.activation, x + h)
        } else {
            h
        }
    }
}

/// Multi-head self-attention over the H*W positions with pre-LayerNorm and a GELU feed-forward,
/// both residual (reference code's `SelfAttention`; no dropout).
#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    pub ln1: LayerNorm<B>,
    pub q: Lin<B>,
    pub k: Lin<B>,
    pub v: Lin<B>,
    pub o: Lin<B>,
    pub ln2: LayerNorm<B>,
    pub ff1: Lin<B>,
    pub ff2: Lin<B>,
    pub heads: usize,
}

impl<B: Backend> SelfAttention<B> {
    pub fn new(c: usize, heads: usize, rng: &mut ChaCha8Rng, device: &B::Device) -> Self {
        SelfAttention {
            ln1: LayerNorm::new(c, device),
            q: Lin::new(c, c, rng, device),
            k: Lin::new(c, c, rng, device),
            v: Lin::new(c, c, rng, device),
            o: Lin::new(c, c, rng, device),
            ln2: LayerNorm::new(c, device),
            ff1: Lin::new(c, c, rng, device),
            ff2: Lin::new(c, c, rng, device),
            heads,
        }
    }
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [n, c, h, w] = x.dims();
        let l = h * w;
        let nh = self.heads;
        let dh = c / nh;
        let xs = x.reshape([n, c, l]).swap_dims(1, 2); // [n, l, c]
        let hn = self.ln1.forward(xs.clone());
        let split = |t: Tensor<B, 3>| t.reshape([n, l, nh, dh]).swap_dims(1, 2); // [n, nh, l, dh]
        let q = split(self.q.forward3(hn.clone()));
        let k = split(self.k.forward3(hn.clone()));
        let v = split(self.v.forward3(hn));
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((dh as f64).sqrt());
        let att = activation::softmax(scores, 3);
        let o = att.matmul(v).swap_dims(1, 2).reshape([n, l, c]);
        let a = self.o.forward3(o) + xs;
        let f = self.ff2.forward3(activation::gelu(
            self.ff1.forward3(self.ln2.forward(a.clone())),
        ));
        (f + a).swap_dims(1, 2).reshape([n, c, h, w])
    }
}

/// Max-pool by 2, (residual double conv), double conv, plus a projection of the time embedding.
#[derive(Module, Debug)]
pub struct Down<B: Backend> {
    pub pre: Option<DoubleConv<B>>,
    pub conv: DoubleConv<B>,
    pub emb: Lin<B>,
}

impl<B: Backend> Down<B> {
    fn new(
        c_in: usize,
        c_out: usize,
        cfg: &ModelConfig,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        Down {
            pre: cfg
                .residual_blocks
                .then(|| DoubleConv::new(c_in, c_in, c_in, true, cfg, rng, device)),
            conv: DoubleConv::new(c_in, c_out, c_out, false, cfg, rng, device),
            emb: Lin::new(cfg.time_emb_dim, c_out, rng, device),
        }
    }
    pub fn forward(&self, x: Tensor<B, 4>, temb: &Tensor<B, 2>) -> Tensor<B, 4> {
        let mut h = max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false);
        if let Some(pre) = &self.pre {
            h = pre.forward(h);
        }
        let h = self.conv.forward(h);
        let e = self.emb.forward2(activation::silu(temb.clone()));
        h + e.unsqueeze_dims::<4>(&[2, 3])
    }
}

/// Bilinear upsampling by 2, concatenation with the skip, (residual double conv), double conv
/// with a halved middle width, plus a projection of the time embedding.
#[derive(Module, Debug)]
pub struct Up<B: Backend> {
    pub pre: Option<DoubleConv<B>>,
    pub conv: DoubleConv<B>,
    pub emb: Lin<B>,
}

impl<B: Backend> Up<B> {
    fn new(
        c_in: usize,
        c_out: usize,
        cfg: &ModelConfig,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        Up {
            pre: cfg
                .residual_blocks
                .then(|| DoubleConv::new(c_in, c_in, c_in, true, cfg, rng, device)),
            conv: DoubleConv::new(c_in, (c_in / 2).max(1), c_out, false, cfg, rng, device),
            emb: Lin::new(cfg.time_emb_dim, c_out, rng, device),
        }
    }
    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        skip: Tensor<B, 4>,
        temb: &Tensor<B, 2>,
    ) -> Tensor<B, 4> {
        // burn's bilinear `interpolate`, or the same map as matmuls where it has no backward
        let up = crate::ops::upsample::upsample2x_bilinear(x);
        let mut h = Tensor::cat(vec![skip, up], 1);
        if let Some(pre) = &self.pre {
            h = pre.forward(h);
        }
        let h = self.conv.forward(h);
        let e = self.emb.forward2(activation::silu(temb.clone()));
        h + e.unsqueeze_dims::<4>(&[2, 3])
    }
}

/// The U-Net eps_theta(x_t, t).
#[derive(Module, Debug)]
pub struct UNet<B: Backend> {
    pub inc: DoubleConv<B>,
    pub downs: Vec<Down<B>>,
    pub down_attn: Vec<Option<SelfAttention<B>>>,
    pub bottleneck: Vec<DoubleConv<B>>,
    pub ups: Vec<Up<B>>,
    pub up_attn: Vec<Option<SelfAttention<B>>>,
    pub out: Conv<B>,
    pub time_emb_dim: usize,
}

impl<B: Backend> UNet<B> {
    /// Build the U-Net of `cfg` for `image_size` x `image_size` inputs, weights drawn from `rng`.
    pub fn new(
        cfg: &ModelConfig,
        image_size: usize,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        let widths: Vec<usize> = cfg
            .channel_mults
            .iter()
            .map(|m| m * cfg.base_channels)
            .collect();
        let levels = widths.len() - 1;
        let attn_at = |res: usize, c: usize, rng: &mut ChaCha8Rng| {
            cfg.attention_resolutions
                .contains(&res)
                .then(|| SelfAttention::new(c, cfg.attention_heads, rng, device))
        };
        let inc = DoubleConv::new(
            cfg.in_channels,
            widths[0],
            widths[0],
            false,
            cfg,
            rng,
            device,
        );
        let mut downs = Vec::new();
        let mut down_attn = Vec::new();
        for i in 1..=levels {
            downs.push(Down::new(widths[i - 1], widths[i], cfg, rng, device));
            down_attn.push(attn_at(image_size >> i, widths[i], rng));
        }
        let cl = widths[levels];
        let b = cfg.bottleneck_channels;
        let bottleneck = vec![
            DoubleConv::new(cl, b, b, false, cfg, rng, device),
            DoubleConv::new(b, b, b, false, cfg, rng, device),
            DoubleConv::new(b, cl, cl, false, cfg, rng, device),
        ];
        let mut ups = Vec::new();
        let mut up_attn = Vec::new();
        let mut u = cl;
        for i in (1..=levels).rev() {
            let c_out = widths[i.saturating_sub(2)];
            ups.push(Up::new(u + widths[i - 1], c_out, cfg, rng, device));
            up_attn.push(attn_at(image_size >> (i - 1), c_out, rng));
            u = c_out;
        }
        let out = Conv::new(u, cfg.in_channels, 1, rng, device);
        UNet {
            inc,
            downs,
            down_attn,
            bottleneck,
            ups,
            up_attn,
            out,
            time_emb_dim: cfg.time_emb_dim,
        }
    }

    /// Predict the noise eps for noisy images `x` `[N, C, H, W]` at step indices `t` (0-based).
    pub fn forward(&self, x: Tensor<B, 4>, t: &[usize]) -> Tensor<B, 4> {
        let device = x.device();
        let temb = time_embedding::<B>(t, self.time_emb_dim, &device);
        let mut h = self.inc.forward(x);
        let mut skips = vec![h.clone()];
        for (down, attn) in self.downs.iter().zip(&self.down_attn) {
            h = down.forward(h, &temb);
            if let Some(a) = attn {
                h = a.forward(h);
            }
            skips.push(h.clone());
        }
        skips.pop(); // the deepest level feeds the bottleneck, not a skip
        for b in &self.bottleneck {
            h = b.forward(h);
        }
        for (up, attn) in self.ups.iter().zip(&self.up_attn) {
            let skip = skips.pop().expect("one skip per up block");
            h = up.forward(h, skip, &temb);
            if let Some(a) = attn {
                h = a.forward(h);
            }
        }
        self.out.forward(h)
    }
}

/// Sinusoidal embedding of the paper's step t = index + 1: `[sin(t w_i), cos(t w_i)]`,
/// w_i = 10000^(-2i/dim) (reference code's `pos_encoding`).
pub fn time_embedding<B: Backend>(t: &[usize], dim: usize, device: &B::Device) -> Tensor<B, 2> {
    let half = dim / 2;
    let mut v = Vec::with_capacity(t.len() * dim);
    for &ti in t {
        let tt = (ti + 1) as f64;
        let freqs = (0..half).map(|i| 1.0 / 10000f64.powf(2.0 * i as f64 / dim as f64));
        let args: Vec<f64> = freqs.map(|w| tt * w).collect();
        v.extend(args.iter().map(|a| a.sin() as f32));
        v.extend(args.iter().map(|a| a.cos() as f32));
    }
    Tensor::from_data(TensorData::new(v, [t.len(), dim]), device)
}

/// Parameter count of the U-Net of `model` at `image_size` (built on the CPU backend).
pub fn param_count(model: &ModelConfig, image_size: usize) -> usize {
    use rand::SeedableRng;
    let device = Default::default();
    let m = UNet::<crate::backend::Cpu>::new(
        model,
        image_size,
        &mut ChaCha8Rng::seed_from_u64(0),
        &device,
    );
    m.num_params()
}
