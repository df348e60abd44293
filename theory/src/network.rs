//! The two-layer score network of Eq. 1, per patch p in {1, 2}:
//! s_w^(p)(x) = -x / beta_t^2 + sum_{r=1}^m sigma(<w_r^(p), x>) w_r^(p).

use crate::data::TwoPatchModel;
use crate::error::{invalid, Result, TheoryError};
use crate::schedule::NoiseLevel;
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Activation sigma of Eq. 1 (App. F uses all four).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, z) (its derivative is taken as 1{z > 0})
    Relu,
    /// z
    Linear,
    /// z^2
    Quadratic,
    /// z^3
    Cubic,
}

impl Activation {
    /// All four, in App. F's order.
    pub const ALL: [Activation; 4] = [
        Activation::Relu,
        Activation::Linear,
        Activation::Quadratic,
        Activation::Cubic,
    ];

    /// Parse `relu|linear|quadratic|cubic`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "relu" => Ok(Activation::Relu),
            "linear" => Ok(Activation::Linear),
            "quadratic" => Ok(Activation::Quadratic),
            "cubic" => Ok(Activation::Cubic),
            other => Err(invalid(
                "activation",
                format!("unknown activation `{other}` (relu|linear|quadratic|cubic)"),
            )),
        }
    }

    /// Lowercase name.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Linear => "linear",
            Activation::Quadratic => "quadratic",
            Activation::Cubic => "cubic",
        }
    }

    /// sigma(z).
    pub fn eval(&self, z: f64) -> f64 {
        match self {
            Activation::Relu => z.max(0.0),
            Activation::Linear => z,
            Activation::Quadratic => z * z,
            Activation::Cubic => z * z * z,
        }
    }

    /// sigma'(z).
    pub fn derivative(&self, z: f64) -> f64 {
        match self {
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Linear => 1.0,
            Activation::Quadratic => 2.0 * z,
            Activation::Cubic => 3.0 * z * z,
        }
    }

    /// Polynomial degree (None for ReLU).
    pub fn degree(&self) -> Option<usize> {
        match self {
            Activation::Relu => None,
            Activation::Linear => Some(1),
            Activation::Quadratic => Some(2),
            Activation::Cubic => Some(3),
        }
    }

    /// The k-th derivative of a polynomial activation as a monomial (coefficient, power)
    /// (coefficient 0 beyond the degree); None for ReLU.
    pub fn monomial(&self, k: usize) -> Option<(f64, usize)> {
        let deg = self.degree()?;
        if k > deg {
            return Some((0.0, 0));
        }
        let coef: f64 = (0..k).map(|i| (deg - i) as f64).product();
        Some((coef, deg - k))
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Eq. 1's network for patches 1 and 2: rows of `w1` (m x d) are w_r^(1), rows of `w2` are w_r^(2).
#[derive(Debug, Clone)]
pub struct ScoreNet {
    /// sigma
    pub activation: Activation,
    /// width m
    pub m: usize,
    /// patch dimension d
    pub d: usize,
    /// weights of patch 1 (m x d)
    pub w1: DMatrix<f64>,
    /// weights of patch 2 (m x d)
    pub w2: DMatrix<f64>,
}

/// Hidden-layer quantities of one patch: a = W x, g = sum_r sigma(a_r) w_r = W^T sigma(a).
pub(crate) fn hidden(
    act: Activation,
    w: &DMatrix<f64>,
    x: &DVector<f64>,
) -> (DVector<f64>, DVector<f64>) {
    let a = w * x;
    let sa = a.map(|z| act.eval(z));
    let g = w.tr_mul(&sa);
    (a, g)
}

impl ScoreNet {
    /// A network from given weights (both m x d, m >= 1, d >= 1).
    pub fn new(activation: Activation, w1: DMatrix<f64>, w2: DMatrix<f64>) -> Result<Self> {
        let (m, d) = w1.shape();
        if m == 0 {
            return Err(invalid("width", "m must be >= 1"));
        }
        if d == 0 {
            return Err(invalid("d", "d must be >= 1"));
        }
        if w2.shape() != (m, d) {
            return Err(TheoryError::Dimension(
                "w1 and w2 must have the same shape".into(),
            ));
        }
        Ok(Self {
            activation,
            m,
            d,
            w1,
            w2,
        })
    }

    /// w_r^(p),0 ~ N(0, sigma0^2 I_d) independently (Thm 4.5's initialisation).
    pub fn init_gaussian<R: Rng + ?Sized>(
        activation: Activation,
        d: usize,
        m: usize,
        sigma0: f64,
        rng: &mut R,
    ) -> Result<Self> {
        if m == 0 {
            return Err(invalid("width", "m must be >= 1"));
        }
        if d == 0 {
            return Err(invalid("d", "d must be >= 1"));
        }
        if !(sigma0.is_finite() && sigma0 > 0.0) {
            return Err(invalid("sigma0", format!("must be > 0, got {sigma0}")));
        }
        let w1 = DMatrix::from_fn(m, d, |_, _| sigma0 * rng.sample::<f64, _>(StandardNormal));
        let w2 = DMatrix::from_fn(m, d, |_, _| sigma0 * rng.sample::<f64, _>(StandardNormal));
        Self::new(activation, w1, w2)
    }

    /// Weights of patch p (1 or 2).
    pub fn weights(&self, patch: usize) -> &DMatrix<f64> {
        if patch == 1 {
            &self.w1
        } else {
            &self.w2
        }
    }

    /// Mutable weights of patch p (1 or 2).
    pub fn weights_mut(&mut self, patch: usize) -> &mut DMatrix<f64> {
        if patch == 1 {
            &mut self.w1
        } else {
            &mut self.w2
        }
    }

    /// s_w^(p)(x) of Eq. 1.
    pub fn forward(&self, patch: usize, x: &[f64], level: NoiseLevel) -> Result<Vec<f64>> {
        if !(patch == 1 || patch == 2) {
            return Err(invalid("patch", "patch must be 1 or 2"));
        }
        if x.len() != self.d {
            return Err(TheoryError::Dimension(format!(
                "x has length {}, expected {}",
                x.len(),
                self.d
            )));
        }
        let xv = DVector::from_column_slice(x);
        let (_, g) = hidden(self.activation, self.weights(patch), &xv);
        let b2 = level.beta_t.powi(2);
        Ok(xv
            .iter()
            .zip(g.iter())
            .map(|(xi, gi)| -xi / b2 + gi)
            .collect())
    }

    /// psi_t(x_t) of Def. 4.3: <s^(1) + x^(1)/beta^2, u> + <s^(2) + x^(2)/beta^2, v>
    /// = sum_r sigma(<w_r^(1), x^(1)>) <w_r^(1), u> + sum_r sigma(<w_r^(2), x^(2)>) <w_r^(2), v>
    /// (independent of the level: the residual connection cancels).
    pub fn psi(&self, model: &TwoPatchModel, xt1: &[f64], xt2: &[f64]) -> Result<f64> {
        if xt1.len() != self.d || xt2.len() != self.d || model.d != self.d {
            return Err(TheoryError::Dimension(
                "x_t patches, model and network must share d".into(),
            ));
        }
        let mut s = 0.0;
        for (p, x) in [(1usize, xt1), (2, xt2)] {
            let w = self.weights(p);
            let f = model.feature(p);
            let xv = DVector::from_column_slice(x);
            let a = w * &xv;
            let b = w * f;
            s += a
                .iter()
                .zip(b.iter())
                .map(|(ar, br)| self.activation.eval(*ar) * br)
                .sum::<f64>();
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn monomials() {
        assert_eq!(Activation::Cubic.monomial(1), Some((3.0, 2)));
        assert_eq!(Activation::Cubic.monomial(2), Some((6.0, 1)));
        assert_eq!(Activation::Cubic.monomial(3), Some((6.0, 0)));
        assert_eq!(Activation::Quadratic.monomial(3), Some((0.0, 0)));
        assert_eq!(Activation::Relu.monomial(0), None);
        for a in Activation::ALL {
            for z in [-1.3, 0.4, 2.0] {
                let h = 1e-6;
                let fd = (a.eval(z + h) - a.eval(z - h)) / (2.0 * h);
                assert!((fd - a.derivative(z)).abs() < 1e-6);
            }
        }
    }
}
