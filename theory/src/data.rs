//! The two-patch data model of Def. 4.1: x^(1) = zeta u, x^(2) = (1 - zeta) v, u ⟂ v unit vectors.
//!
//! Patches 3..P are independent of patches 1, 2 (Def. 4.1), the score factorises (Thm 4.2) and the
//! network of Eq. 1 has separate weights per patch, so those patches add a constant to the loss and
//! play no role in the rule (*) or in psi_t (Def. 4.3); the crate models only the first two patches.

use crate::error::{invalid, Result, TheoryError};
use crate::schedule::NoiseLevel;
use crate::zeta::ZetaLaw;
use nalgebra::DVector;
use rand::Rng;
use rand_distr::StandardNormal;

/// Def. 4.1's model restricted to patches 1 and 2, in R^d each.
#[derive(Debug, Clone)]
pub struct TwoPatchModel {
    /// patch dimension d
    pub d: usize,
    /// D_zeta
    pub zeta: ZetaLaw,
    /// feature of patch 1 (unit norm)
    pub u: DVector<f64>,
    /// feature of patch 2 (unit norm, orthogonal to u)
    pub v: DVector<f64>,
}

/// One noised draw: x_t^(p) = alpha_t x_0^(p) + beta_t eps^(p).
#[derive(Debug, Clone)]
pub struct Sample {
    /// the hidden coefficient
    pub zeta: f64,
    /// x_0^(1) = zeta u
    pub x0_1: Vec<f64>,
    /// x_0^(2) = (1 - zeta) v
    pub x0_2: Vec<f64>,
    /// noise of patch 1
    pub eps_1: Vec<f64>,
    /// noise of patch 2
    pub eps_2: Vec<f64>,
    /// noised patch 1
    pub xt_1: Vec<f64>,
    /// noised patch 2
    pub xt_2: Vec<f64>,
}

impl TwoPatchModel {
    /// u = e_1, v = e_2 in R^d (App. F); needs d >= 2.
    pub fn new(d: usize, zeta: ZetaLaw) -> Result<Self> {
        if d < 2 {
            return Err(invalid(
                "d",
                format!("need d >= 2 (u = e1, v = e2), got {d}"),
            ));
        }
        zeta.validate()?;
        let mut u = DVector::zeros(d);
        let mut v = DVector::zeros(d);
        u[0] = 1.0;
        v[1] = 1.0;
        Ok(Self { d, zeta, u, v })
    }

    /// Replace the features; checks ||u|| = ||v|| = 1 and <u, v> = 0 (to 1e-10).
    pub fn with_features(mut self, u: Vec<f64>, v: Vec<f64>) -> Result<Self> {
        if u.len() != self.d || v.len() != self.d {
            return Err(TheoryError::Dimension(format!(
                "features must have length d = {}",
                self.d
            )));
        }
        let (u, v) = (DVector::from_vec(u), DVector::from_vec(v));
        if (u.norm() - 1.0).abs() > 1e-10
            || (v.norm() - 1.0).abs() > 1e-10
            || u.dot(&v).abs() > 1e-10
        {
            return Err(invalid("features", "u and v must be orthonormal"));
        }
        self.u = u;
        self.v = v;
        Ok(self)
    }

    /// Feature of patch p (1 -> u, 2 -> v).
    pub fn feature(&self, patch: usize) -> &DVector<f64> {
        if patch == 1 {
            &self.u
        } else {
            &self.v
        }
    }

    /// Draw (zeta, x^(1), x^(2)).
    pub fn sample_x0<R: Rng + ?Sized>(&self, rng: &mut R) -> (f64, Vec<f64>, Vec<f64>) {
        let z = self.zeta.sample(rng);
        (
            z,
            (&self.u * z).as_slice().to_vec(),
            (&self.v * (1.0 - z)).as_slice().to_vec(),
        )
    }

    /// Draw (x_0, eps, x_t) at the given level.
    pub fn sample_xt<R: Rng + ?Sized>(&self, level: NoiseLevel, rng: &mut R) -> Sample {
        let (zeta, x0_1, x0_2) = self.sample_x0(rng);
        let eps_1: Vec<f64> = (0..self.d).map(|_| rng.sample(StandardNormal)).collect();
        let eps_2: Vec<f64> = (0..self.d).map(|_| rng.sample(StandardNormal)).collect();
        let mix = |x0: &[f64], e: &[f64]| -> Vec<f64> {
            x0.iter()
                .zip(e)
                .map(|(a, b)| level.alpha_t * a + level.beta_t * b)
                .collect()
        };
        let xt_1 = mix(&x0_1, &eps_1);
        let xt_2 = mix(&x0_2, &eps_2);
        Sample {
            zeta,
            x0_1,
            x0_2,
            eps_1,
            eps_2,
            xt_1,
            xt_2,
        }
    }
}
