//! The paper's per-task settings in one table: training-set size (Sec. 3.2), epochs (App. D.1),
//! classifier-guidance scale and schedule (App. G.1) and the clean classifier used for filtering
//! (App. G.2), and the paper's Table 2 numbers for DDPM, guidance and filtering. Presets,
//! commands and [`crate::table2`] read them from here.
use empirical_rules::results::Method;
use empirical_rules::Task;

use crate::classifier::config::Arch;
use crate::guidance::GuidanceScheduleKind;

/// One task's settings in the paper.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaperSettings {
    pub task: Task,
    /// Training images (Sec. 3.2: 4000 for A, 2000 for B, C, D).
    pub n_train: usize,
    /// Training epochs (App. D.1).
    pub epochs: usize,
    /// Guidance scale (App. G.1).
    pub guidance_scale: f64,
    /// The guidance schedule that worked best for the task (App. G.1).
    pub guidance_schedule: GuidanceScheduleKind,
    /// Architecture of the clean filtering classifier (`mlp` for A, B; `unet` for C, D).
    pub filter_arch: Arch,
    /// Table 2's Error (Eq. 4) for DDPM, Guidance, Filtering (in [`Method::column`] order).
    pub table2_error: [f64; 3],
    /// Table 2's R² for DDPM, Guidance, Filtering.
    pub table2_r_squared: [f64; 3],
}

/// Tasks A-D, in order.
pub const PAPER: [PaperSettings; 4] = [
    PaperSettings {
        task: Task::A,
        n_train: 4000,
        epochs: 400,
        guidance_scale: 7.0,
        guidance_schedule: GuidanceScheduleKind::Constant,
        filter_arch: Arch::Mlp,
        table2_error: [0.25, 0.21, 0.17],
        table2_r_squared: [0.85, 0.90, 0.90],
    },
    PaperSettings {
        task: Task::B,
        n_train: 2000,
        epochs: 800,
        guidance_scale: 10.0,
        guidance_schedule: GuidanceScheduleKind::Constant,
        filter_arch: Arch::Mlp,
        table2_error: [0.11, 0.10, 0.05],
        table2_r_squared: [0.83, 0.85, 0.86],
    },
    PaperSettings {
        task: Task::C,
        n_train: 2000,
        epochs: 1600,
        guidance_scale: 7.0,
        guidance_schedule: GuidanceScheduleKind::Piecewise,
        filter_arch: Arch::Unet,
        table2_error: [0.41, 0.26, 0.25],
        table2_r_squared: [0.57, 0.67, 0.64],
    },
    PaperSettings {
        task: Task::D,
        n_train: 2000,
        epochs: 1000,
        guidance_scale: 10.0,
        guidance_schedule: GuidanceScheduleKind::Constant,
        filter_arch: Arch::Unet,
        table2_error: [0.46, 0.43, 0.39],
        table2_r_squared: [0.79, 0.84, 0.85],
    },
];

impl PaperSettings {
    /// The settings of `task`.
    pub fn of(task: Task) -> &'static PaperSettings {
        PAPER
            .iter()
            .find(|s| s.task == task)
            .expect("PAPER lists every task")
    }

    /// Table 2's (Error, R²) of `method` on this task.
    pub fn table2(&self, method: Method) -> (f64, f64) {
        let c = method.column();
        (self.table2_error[c], self.table2_r_squared[c])
    }
}
