//! Two-layer networks on both patches: g(x) = W^T sigma(W x), x = [x^(1); x^(2)] in R^{2d}, W (m x 2d),
//! the tied-weight form of Eq. 1 with hidden units that see both patches. With the per-patch block mask
//! (m units on x^(1) only, m on x^(2) only) it is exactly Eq. 1's network, the paper's baseline.
use crate::error::{invalid, Result};
use crate::floor::objective::Predictor;
use crate::network::{Activation, ScoreNet};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::StandardNormal;

/// Joint (or, with `per_patch`, Eq. 1's block-diagonal) two-layer network.
#[derive(Debug, Clone)]
pub struct JointNet {
    /// sigma
    pub activation: Activation,
    /// patch dimension d
    pub d: usize,
    /// weights: m x 2d (joint) or 2m x 2d block-diagonal (per patch)
    pub w: DMatrix<f64>,
    /// true: Eq. 1's per-patch network (rows 0..m see x^(1), rows m..2m see x^(2))
    pub per_patch: bool,
}

impl JointNet {
    /// w_r ~ N(0, sigma0^2 I) (zero outside the blocks when `per_patch`); width m >= 1.
    pub fn init<R: Rng + ?Sized>(
        activation: Activation,
        d: usize,
        m: usize,
        per_patch: bool,
        sigma0: f64,
        rng: &mut R,
    ) -> Result<Self> {
        if m == 0 || d == 0 {
            return Err(invalid("width", "need m >= 1 and d >= 1"));
        }
        let rows = if per_patch { 2 * m } else { m };
        let mut w = DMatrix::from_fn(rows, 2 * d, |_, _| {
            sigma0 * rng.sample::<f64, _>(StandardNormal)
        });
        let mut net = Self {
            activation,
            d,
            w: DMatrix::zeros(rows, 2 * d),
            per_patch,
        };
        net.apply_mask(&mut w);
        net.w = w;
        Ok(net)
    }

    /// From explicit weights (m x 2d, joint).
    pub fn from_weights(activation: Activation, w: DMatrix<f64>) -> Result<Self> {
        if w.nrows() == 0 || w.ncols() == 0 || !w.ncols().is_multiple_of(2) {
            return Err(invalid("width", "need m >= 1 and 2d columns"));
        }
        Ok(Self {
            activation,
            d: w.ncols() / 2,
            w,
            per_patch: false,
        })
    }

    /// Eq. 1's network as a block-diagonal [`JointNet`].
    pub fn from_score_net(net: &ScoreNet) -> Self {
        let (m, d) = (net.m, net.d);
        let mut w = DMatrix::zeros(2 * m, 2 * d);
        w.view_mut((0, 0), (m, d)).copy_from(&net.w1);
        w.view_mut((m, d), (m, d)).copy_from(&net.w2);
        Self {
            activation: net.activation,
            d,
            w,
            per_patch: true,
        }
    }

    /// Hidden units per patch (per patch) or in all (joint).
    pub fn width(&self) -> usize {
        if self.per_patch {
            self.w.nrows() / 2
        } else {
            self.w.nrows()
        }
    }

    fn apply_mask(&self, w: &mut DMatrix<f64>) {
        if !self.per_patch {
            return;
        }
        let (m, d) = (w.nrows() / 2, self.d);
        w.view_mut((0, d), (m, d)).fill(0.0);
        w.view_mut((m, 0), (m, d)).fill(0.0);
    }
}

impl Predictor for JointNet {
    fn n_params(&self) -> usize {
        self.w.len()
    }
    /// m x 2d (joint) or 2 m d (per patch: the blocks only).
    fn n_trainable(&self) -> usize {
        if self.per_patch {
            self.w.len() / 2
        } else {
            self.w.len()
        }
    }
    fn params(&self) -> Vec<f64> {
        self.w.as_slice().to_vec()
    }
    fn set_params(&mut self, p: &[f64]) {
        self.w.copy_from_slice(p);
    }
    fn forward(&self, x: &DVector<f64>) -> DVector<f64> {
        let a = &self.w * x;
        self.w.tr_mul(&a.map(|z| self.activation.eval(z)))
    }
    /// d<c, W^T sigma(W x)>/dW = sigma(a) c^T + (sigma'(a) .* (W c)) x^T (block mask applied).
    fn vjp(&self, x: &DVector<f64>, c: &DVector<f64>, grad: &mut [f64]) {
        let a = &self.w * x;
        let sa = a.map(|z| self.activation.eval(z));
        let wc = &self.w * c;
        let ds = a.zip_map(&wc, |z, q| self.activation.derivative(z) * q);
        let mut gm = &sa * c.transpose() + &ds * x.transpose();
        self.apply_mask(&mut gm);
        for (g, v) in grad.iter_mut().zip(gm.as_slice()) {
            *g += v;
        }
    }
}

/// Untied two-layer network g(x) = A^T sigma(W x + b) + c, W, A (r x 2d), b in R^r, c in R^{2d}, with
/// two switches:
/// - `per_patch`: r = 2m units, rows 0..m read and write only x^(1), rows m..2m only x^(2) (the block
///   mask of Eq. 1 on both W and A; c is per patch anyway), so g^(p) is a function of x^(p) alone;
///   otherwise r = m units that read and write both patches;
/// - `bias`: b and c trained; without them (b = c = 0 fixed) the ReLU network is positively homogeneous,
///   g(lambda x) = lambda g(x) for lambda > 0, like [`JointNet`].
///
/// With biases it is a universal approximator as m grows (of functions of [x^(1); x^(2)] when joint, of
/// per-patch functions g^(1)(x^(1)), g^(2)(x^(2)) when per patch); [`JointMlp::init`] is the joint one.
#[derive(Debug, Clone)]
pub struct JointMlp {
    /// sigma
    pub activation: Activation,
    /// patch dimension d
    pub d: usize,
    /// first layer W (r x 2d)
    pub w: DMatrix<f64>,
    /// hidden biases b (r)
    pub b: DVector<f64>,
    /// second layer A (r x 2d)
    pub a: DMatrix<f64>,
    /// output bias c (2d)
    pub c: DVector<f64>,
    /// block mask: units see and write their own patch only
    pub per_patch: bool,
    /// b and c trained (false: fixed at 0)
    pub bias: bool,
}

impl JointMlp {
    /// Joint network with biases: W ~ N(0, 1/(2d)), b ~ N(0, 1/4), A ~ N(0, sigma0^2), c = 0; m >= 1.
    pub fn init<R: Rng + ?Sized>(
        activation: Activation,
        d: usize,
        m: usize,
        sigma0: f64,
        rng: &mut R,
    ) -> Result<Self> {
        Self::init_with(activation, d, m, false, true, sigma0, rng)
    }

    /// Any corner: W ~ N(0, 1/n_in) with n_in = d (per patch) or 2d (joint), b ~ N(0, 1/4) (0 without
    /// biases), A ~ N(0, sigma0^2), c = 0, entries outside the blocks 0 when `per_patch`; m >= 1
    /// (units per patch when `per_patch`, units in all otherwise).
    pub fn init_with<R: Rng + ?Sized>(
        activation: Activation,
        d: usize,
        m: usize,
        per_patch: bool,
        bias: bool,
        sigma0: f64,
        rng: &mut R,
    ) -> Result<Self> {
        if m == 0 || d == 0 {
            return Err(invalid("width", "need m >= 1 and d >= 1"));
        }
        let rows = if per_patch { 2 * m } else { m };
        let n_in = if per_patch { d } else { 2 * d };
        let sw = 1.0 / (n_in as f64).sqrt();
        let mut g = |s: f64| s * rng.sample::<f64, _>(StandardNormal);
        let mut w = DMatrix::from_fn(rows, 2 * d, |_, _| g(sw));
        let b = DVector::from_fn(rows, |_, _| if bias { g(0.5) } else { 0.0 });
        let mut a = DMatrix::from_fn(rows, 2 * d, |_, _| g(sigma0));
        let net = Self {
            activation,
            d,
            w: DMatrix::zeros(rows, 2 * d),
            b,
            a: DMatrix::zeros(rows, 2 * d),
            c: DVector::zeros(2 * d),
            per_patch,
            bias,
        };
        net.apply_mask(&mut w);
        net.apply_mask(&mut a);
        Ok(Self { w, a, ..net })
    }

    /// Hidden units per patch (per patch) or in all (joint).
    pub fn width(&self) -> usize {
        if self.per_patch {
            self.w.nrows() / 2
        } else {
            self.w.nrows()
        }
    }

    fn apply_mask(&self, w: &mut DMatrix<f64>) {
        if !self.per_patch {
            return;
        }
        let (m, d) = (w.nrows() / 2, self.d);
        w.view_mut((0, d), (m, d)).fill(0.0);
        w.view_mut((m, 0), (m, d)).fill(0.0);
    }
}

impl Predictor for JointMlp {
    fn n_params(&self) -> usize {
        self.w.len() + self.b.len() + self.a.len() + self.c.len()
    }
    /// W and A (d x m entries per patch block when per patch), plus b and c with biases.
    fn n_trainable(&self) -> usize {
        let blocks = if self.per_patch {
            self.w.len() / 2
        } else {
            self.w.len()
        };
        2 * blocks
            + if self.bias {
                self.b.len() + self.c.len()
            } else {
                0
            }
    }
    fn params(&self) -> Vec<f64> {
        let mut p = self.w.as_slice().to_vec();
        p.extend_from_slice(self.b.as_slice());
        p.extend_from_slice(self.a.as_slice());
        p.extend_from_slice(self.c.as_slice());
        p
    }
    fn set_params(&mut self, p: &[f64]) {
        let (nw, nb, na) = (self.w.len(), self.b.len(), self.a.len());
        self.w.copy_from_slice(&p[..nw]);
        self.b.copy_from_slice(&p[nw..nw + nb]);
        self.a.copy_from_slice(&p[nw + nb..nw + nb + na]);
        self.c.copy_from_slice(&p[nw + nb + na..]);
    }
    fn forward(&self, x: &DVector<f64>) -> DVector<f64> {
        let z = &self.w * x + &self.b;
        self.a.tr_mul(&z.map(|v| self.activation.eval(v))) + &self.c
    }
    /// dA = sigma(z) c^T, dz = sigma'(z) .* (A c), dW = dz x^T, db = dz, dc = c (block mask applied
    /// to dW and dA; db = dc = 0 without biases).
    fn vjp(&self, x: &DVector<f64>, c: &DVector<f64>, grad: &mut [f64]) {
        let z = &self.w * x + &self.b;
        let sz = z.map(|v| self.activation.eval(v));
        let ac = &self.a * c;
        let dz = z.zip_map(&ac, |v, q| self.activation.derivative(v) * q);
        let mut dw = &dz * x.transpose();
        let mut da = &sz * c.transpose();
        self.apply_mask(&mut dw);
        self.apply_mask(&mut da);
        let (nw, nb, na) = (self.w.len(), self.b.len(), self.a.len());
        for (g, v) in grad[..nw].iter_mut().zip(dw.as_slice()) {
            *g += v;
        }
        for (g, v) in grad[nw + nb..nw + nb + na].iter_mut().zip(da.as_slice()) {
            *g += v;
        }
        if self.bias {
            for (g, v) in grad[nw..nw + nb].iter_mut().zip(dz.iter()) {
                *g += v;
            }
            for (g, v) in grad[nw + nb + na..].iter_mut().zip(c.iter()) {
                *g += v;
            }
        }
    }
}
