//! The law D_zeta of the hidden coefficient zeta (Def. 4.1): supported on [a, b] with 0 < a < b.

use crate::error::{invalid, Result};
use crate::quad::gauss_beta01;
use rand::Rng;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

/// D_zeta of Def. 4.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "law", rename_all = "lowercase")]
pub enum ZetaLaw {
    /// Uniform on [a, b].
    Uniform {
        /// lower end a > 0
        a: f64,
        /// upper end b > a
        b: f64,
    },
    /// zeta = a + (b - a) Y with Y ~ Beta(p, q).
    Beta {
        /// Beta shape p > 0
        p: f64,
        /// Beta shape q > 0
        q: f64,
        /// lower end a > 0
        a: f64,
        /// upper end b > a
        b: f64,
    },
    /// Finite law: P(zeta = values[i]) = weights[i] (weights normalised to sum 1).
    Discrete {
        /// atoms (> 0)
        values: Vec<f64>,
        /// probabilities (> 0)
        weights: Vec<f64>,
    },
}

fn num(s: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| invalid("zeta", format!("`{s}` is not a number")))
}

impl ZetaLaw {
    /// Parse `uniform:A:B`, `beta:P:Q:A:B` or `discrete:V1,V2,...` (equal weights) /
    /// `discrete:V1:W1,V2:W2,...` (weights normalised); the result is validated.
    pub fn parse(s: &str) -> Result<Self> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            invalid(
                "zeta",
                format!("`{s}`: expected uniform:A:B, beta:P:Q:A:B or discrete:V1,V2,..."),
            )
        })?;
        let law = match kind.trim().to_ascii_lowercase().as_str() {
            "uniform" => {
                let f: Vec<&str> = rest.split(':').collect();
                if f.len() != 2 {
                    return Err(invalid("zeta", "uniform needs uniform:A:B"));
                }
                ZetaLaw::Uniform {
                    a: num(f[0])?,
                    b: num(f[1])?,
                }
            }
            "beta" => {
                let f: Vec<&str> = rest.split(':').collect();
                if f.len() != 4 {
                    return Err(invalid("zeta", "beta needs beta:P:Q:A:B"));
                }
                ZetaLaw::Beta {
                    p: num(f[0])?,
                    q: num(f[1])?,
                    a: num(f[2])?,
                    b: num(f[3])?,
                }
            }
            "discrete" => {
                let mut values = Vec::new();
                let mut weights = Vec::new();
                for item in rest.split(',') {
                    match item.split_once(':') {
                        Some((v, w)) => {
                            values.push(num(v)?);
                            weights.push(num(w)?);
                        }
                        None => {
                            values.push(num(item)?);
                            weights.push(1.0);
                        }
                    }
                }
                let tot: f64 = weights.iter().sum();
                ZetaLaw::Discrete {
                    values,
                    weights: weights.iter().map(|w| w / tot).collect(),
                }
            }
            other => {
                return Err(invalid(
                    "zeta",
                    format!("unknown law `{other}` (uniform|beta|discrete)"),
                ))
            }
        };
        law.validate()?;
        Ok(law)
    }

    /// Check Def. 4.1's conditions: finite, 0 < a < b, shapes > 0, atoms > 0, weights > 0 summing to 1.
    pub fn validate(&self) -> Result<()> {
        let ab = |a: f64, b: f64| -> Result<()> {
            if !(a.is_finite() && b.is_finite() && a > 0.0 && a < b) {
                return Err(invalid(
                    "zeta",
                    format!("need 0 < a < b, got a = {a}, b = {b}"),
                ));
            }
            Ok(())
        };
        match self {
            ZetaLaw::Uniform { a, b } => ab(*a, *b),
            ZetaLaw::Beta { p, q, a, b } => {
                if !(p.is_finite() && q.is_finite() && *p > 0.0 && *q > 0.0) {
                    return Err(invalid(
                        "zeta",
                        format!("Beta shapes must be > 0, got p = {p}, q = {q}"),
                    ));
                }
                ab(*a, *b)
            }
            ZetaLaw::Discrete { values, weights } => {
                if values.is_empty() || values.len() != weights.len() {
                    return Err(invalid(
                        "zeta",
                        "discrete law needs >= 1 atom and one weight per atom",
                    ));
                }
                if values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                    return Err(invalid("zeta", "discrete atoms must be finite and > 0"));
                }
                if weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
                    return Err(invalid("zeta", "discrete weights must be finite and > 0"));
                }
                let s: f64 = weights.iter().sum();
                if (s - 1.0).abs() > 1e-9 {
                    return Err(invalid(
                        "zeta",
                        format!("discrete weights must sum to 1, sum = {s}"),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Support bounds [a, b] (for a discrete law: smallest and largest atom).
    pub fn support(&self) -> (f64, f64) {
        match self {
            ZetaLaw::Uniform { a, b } | ZetaLaw::Beta { a, b, .. } => (*a, *b),
            ZetaLaw::Discrete { values, .. } => (
                values.iter().cloned().fold(f64::INFINITY, f64::min),
                values.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            ),
        }
    }

    /// E[zeta^k], exact (closed form for uniform/Beta, finite sum for discrete).
    pub fn moment(&self, k: u32) -> f64 {
        match self {
            ZetaLaw::Uniform { a, b } => {
                (b.powi(k as i32 + 1) - a.powi(k as i32 + 1)) / ((k as f64 + 1.0) * (b - a))
            }
            ZetaLaw::Beta { p, q, a, b } => {
                // zeta = a + (b-a) Y, E[Y^j] = prod_{i<j} (p+i)/(p+q+i)
                let mut ey = 1.0;
                let mut s = 0.0;
                let mut binom = 1.0;
                for j in 0..=k {
                    s += binom * a.powi((k - j) as i32) * (b - a).powi(j as i32) * ey;
                    ey *= (p + j as f64) / (p + q + j as f64);
                    binom = binom * (k - j) as f64 / (j as f64 + 1.0);
                }
                s
            }
            ZetaLaw::Discrete { values, weights } => values
                .iter()
                .zip(weights)
                .map(|(v, w)| w * v.powi(k as i32))
                .sum(),
        }
    }

    /// E[(1 - zeta)^k], exact (binomial expansion of the moments).
    pub fn moment_one_minus(&self, k: u32) -> f64 {
        let mut s = 0.0;
        let mut binom = 1.0;
        for j in 0..=k {
            s += binom * (-1f64).powi(j as i32) * self.moment(j);
            binom = binom * (k - j) as f64 / (j as f64 + 1.0);
        }
        s
    }

    /// E[zeta].
    pub fn mean(&self) -> f64 {
        self.moment(1)
    }

    /// Var[zeta].
    pub fn variance(&self) -> f64 {
        self.moment(2) - self.moment(1).powi(2)
    }

    /// Draw one zeta.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            ZetaLaw::Uniform { a, b } => a + (b - a) * rng.random::<f64>(),
            ZetaLaw::Beta { p, q, a, b } => {
                let y: f64 = Beta::new(*p, *q).expect("validated shapes").sample(rng);
                a + (b - a) * y
            }
            ZetaLaw::Discrete { values, weights } => {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                for (v, w) in values.iter().zip(weights) {
                    acc += w;
                    if u < acc {
                        return *v;
                    }
                }
                *values.last().expect("validated non-empty")
            }
        }
    }

    /// Quadrature rule (node, probability) for D_zeta: the exact atoms of a discrete law, or the
    /// n-node Gauss rule of the law itself (Gauss-Jacobi for the scaled Beta, Gauss-Legendre for
    /// the uniform), exact for polynomials in zeta of degree <= 2n - 1.
    pub fn quadrature(&self, n: usize) -> Vec<(f64, f64)> {
        match self {
            ZetaLaw::Uniform { a, b } => gauss_beta01(1.0, 1.0, n.max(1))
                .into_iter()
                .map(|(y, w)| (a + (b - a) * y, w))
                .collect(),
            ZetaLaw::Beta { p, q, a, b } => gauss_beta01(*p, *q, n.max(1))
                .into_iter()
                .map(|(y, w)| (a + (b - a) * y, w))
                .collect(),
            ZetaLaw::Discrete { values, weights } => values
                .iter()
                .cloned()
                .zip(weights.iter().cloned())
                .collect(),
        }
    }
}

impl std::fmt::Display for ZetaLaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZetaLaw::Uniform { a, b } => write!(f, "uniform:{a}:{b}"),
            ZetaLaw::Beta { p, q, a, b } => write!(f, "beta:{p}:{q}:{a}:{b}"),
            ZetaLaw::Discrete { values, weights } => {
                let s: Vec<String> = values
                    .iter()
                    .zip(weights)
                    .map(|(v, w)| format!("{v}:{w}"))
                    .collect();
                write!(f, "discrete:{}", s.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parse_and_validate() {
        assert!(ZetaLaw::parse("uniform:0.2:0.8").is_ok());
        assert!(ZetaLaw::parse("uniform:0.8:0.2").is_err());
        assert!(ZetaLaw::parse("uniform:0:0.2").is_err());
        assert!(ZetaLaw::parse("beta:2:3:0.1:0.9").is_ok());
        assert!(ZetaLaw::parse("beta:0:3:0.1:0.9").is_err());
        let d = ZetaLaw::parse("discrete:0.2:1,0.5:3").unwrap();
        assert!((d.mean() - (0.2 * 0.25 + 0.5 * 0.75)).abs() < 1e-15);
        assert!(ZetaLaw::parse("gamma:1:2").is_err());
        assert!(ZetaLaw::parse("discrete:0.2,x").is_err());
    }
    #[test]
    fn quadrature_matches_moments() {
        for law in [
            ZetaLaw::parse("uniform:0.2:0.8").unwrap(),
            ZetaLaw::parse("beta:0.7:2.5:0.1:0.9").unwrap(),
            ZetaLaw::parse("discrete:0.1,0.4,0.7").unwrap(),
        ] {
            let r = law.quadrature(4);
            for k in 0..8u32 {
                let q: f64 = r.iter().map(|(z, w)| w * z.powi(k as i32)).sum();
                assert!((q - law.moment(k)).abs() < 1e-13, "{law} k={k}");
                let q1: f64 = r.iter().map(|(z, w)| w * (1.0 - z).powi(k as i32)).sum();
                assert!((q1 - law.moment_one_minus(k)).abs() < 1e-13);
            }
        }
    }
}
