//! A network with the exact score's form (Thm 4.2):
//! s(x) = -x/beta^2 + (alpha/beta^2) [G(s1, s2) u; H(s1, s2) v], s1 = <x^(1), u>, s2 = <x^(2), v>,
//! with a softmax over K learned nodes, the form of the posterior weights pi_t:
//! l_k = a_k s1 + b_k s2 + c_k, pi = softmax(l), G = sum_k pi_k z_k and
//! - constrained (`sum_to_one`): H = sum_k pi_k (1 - z_k), so G + H = 1 at ANY weights and
//!   psi_t = alpha/beta^2 identically (identity (*));
//! - free: H = sum_k pi_k y_k with separate y_k.
//!
//! The exact score (score convention) is the K -> infinity member with a_k = alpha z_k/beta^2,
//! b_k = alpha (1 - z_k)/beta^2 and c_k the log prior weight minus alpha^2 (z_k^2 + (1-z_k)^2)/(2 beta^2);
//! for a discrete D_zeta with K atoms it is exactly representable.
use crate::error::{invalid, Result};
use crate::floor::objective::Predictor;
use crate::quad::log_sum_exp;
use crate::schedule::NoiseLevel;
use nalgebra::DVector;
use rand::Rng;
use rand_distr::StandardNormal;

/// Structured score network (see the module docs).
#[derive(Debug, Clone)]
pub struct StructuredNet {
    /// noise level (alpha_t, beta_t) in the prefactor
    pub level: NoiseLevel,
    /// patch dimension d (u = e_1 of patch 1, v = e_2 of patch 2 in the stacked x, as in [`crate::data`])
    pub u: DVector<f64>,
    /// feature of patch 2
    pub v: DVector<f64>,
    /// G + H = 1 built in
    pub sum_to_one: bool,
    /// a_k
    pub a: Vec<f64>,
    /// b_k
    pub b: Vec<f64>,
    /// c_k
    pub c: Vec<f64>,
    /// z_k
    pub z: Vec<f64>,
    /// y_k (unused when `sum_to_one`)
    pub y: Vec<f64>,
}

impl StructuredNet {
    /// K >= 1 nodes: a, b ~ N(0, 0.1^2), c = 0, z ~ U(0, 1), y ~ U(0, 1) independent of z (so the free
    /// network does not start on G + H = 1, which GD would preserve: on it the residuals of the two
    /// patches are opposite under the score convention).
    pub fn init<R: Rng + ?Sized>(
        level: NoiseLevel,
        u: DVector<f64>,
        v: DVector<f64>,
        k: usize,
        sum_to_one: bool,
        rng: &mut R,
    ) -> Result<Self> {
        if k == 0 {
            return Err(invalid("width", "need K >= 1 nodes"));
        }
        let mut a = Vec::with_capacity(k);
        let mut b = Vec::with_capacity(k);
        let mut z = Vec::with_capacity(k);
        for _ in 0..k {
            a.push(0.1 * rng.sample::<f64, _>(StandardNormal));
            b.push(0.1 * rng.sample::<f64, _>(StandardNormal));
            z.push(rng.random::<f64>());
        }
        let y = (0..k).map(|_| rng.random::<f64>()).collect();
        Ok(Self {
            level,
            u,
            v,
            sum_to_one,
            a,
            b,
            c: vec![0.0; k],
            z,
            y,
        })
    }

    /// Number of nodes K.
    pub fn width(&self) -> usize {
        self.z.len()
    }

    fn proj(&self, x: &DVector<f64>) -> (f64, f64) {
        let d = self.u.len();
        (self.u.dot(&x.rows(0, d)), self.v.dot(&x.rows(d, d)))
    }

    fn softmax(&self, s1: f64, s2: f64) -> Vec<f64> {
        let l: Vec<f64> = (0..self.width())
            .map(|k| self.a[k] * s1 + self.b[k] * s2 + self.c[k])
            .collect();
        let lse = log_sum_exp(&l);
        l.iter().map(|li| (li - lse).exp()).collect()
    }

    fn h_node(&self, k: usize) -> f64 {
        if self.sum_to_one {
            1.0 - self.z[k]
        } else {
            self.y[k]
        }
    }

    /// (G, H) at x.
    pub fn gh(&self, x: &DVector<f64>) -> (f64, f64) {
        let (s1, s2) = self.proj(x);
        let pi = self.softmax(s1, s2);
        let g = pi.iter().zip(&self.z).map(|(p, z)| p * z).sum();
        let h = (0..pi.len()).map(|k| pi[k] * self.h_node(k)).sum();
        (g, h)
    }
}

impl Predictor for StructuredNet {
    fn n_params(&self) -> usize {
        5 * self.width()
    }
    fn params(&self) -> Vec<f64> {
        [&self.a, &self.b, &self.c, &self.z, &self.y]
            .iter()
            .flat_map(|v| v.iter().copied())
            .collect()
    }
    fn set_params(&mut self, p: &[f64]) {
        let k = self.width();
        for (i, dst) in [
            &mut self.a,
            &mut self.b,
            &mut self.c,
            &mut self.z,
            &mut self.y,
        ]
        .into_iter()
        .enumerate()
        {
            dst.copy_from_slice(&p[i * k..(i + 1) * k]);
        }
    }
    fn forward(&self, x: &DVector<f64>) -> DVector<f64> {
        let (g, h) = self.gh(x);
        let pre = self.level.target();
        DVector::from_iterator(
            2 * self.u.len(),
            self.u
                .iter()
                .map(|u| pre * g * u)
                .chain(self.v.iter().map(|v| pre * h * v)),
        )
    }
    fn vjp(&self, x: &DVector<f64>, c: &DVector<f64>, grad: &mut [f64]) {
        let k = self.width();
        let d = self.u.len();
        let pre = self.level.target();
        let (s1, s2) = self.proj(x);
        let pi = self.softmax(s1, s2);
        let cg = pre * self.u.dot(&c.rows(0, d));
        let ch = pre * self.v.dot(&c.rows(d, d));
        // o = sum_k pi_k q_k, q_k = cg z_k + ch h_k
        let q: Vec<f64> = (0..k)
            .map(|j| cg * self.z[j] + ch * self.h_node(j))
            .collect();
        let o: f64 = pi.iter().zip(&q).map(|(p, q)| p * q).sum();
        for j in 0..k {
            let dl = pi[j] * (q[j] - o);
            grad[j] += dl * s1;
            grad[k + j] += dl * s2;
            grad[2 * k + j] += dl;
            if self.sum_to_one {
                grad[3 * k + j] += pi[j] * (cg - ch);
            } else {
                grad[3 * k + j] += pi[j] * cg;
                grad[4 * k + j] += pi[j] * ch;
            }
        }
    }
}
