//! Figure 6's data straight from `theory::figure6_grid` (Sec. 4, App. F).

use crate::error::PlotError;
use crate::fig6::PsiPanel;

/// Convert theory's panels into plain plotting data.
pub fn psi_panels(panels: &[theory::Figure6Panel]) -> Vec<PsiPanel> {
    panels
        .iter()
        .map(|p| PsiPanel {
            activation: p.activation.to_string(),
            t: p.t,
            convention: p.convention,
            alpha_t: p.alpha_t,
            beta_t: p.beta_t,
            target: p.target,
            psi: p.psi.clone(),
        })
        .collect()
}

/// Train and sample the grid (`cfg` as App. F by default), return panels.
pub fn figure6_panels(cfg: &theory::Figure6Config) -> Result<Vec<PsiPanel>, PlotError> {
    let panels = theory::figure6_grid(cfg).map_err(|e| PlotError::Theory(e.to_string()))?;
    Ok(psi_panels(&panels))
}
