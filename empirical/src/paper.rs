//! The paper's per-task settings in one table: training-set size (Sec. 3.2), epochs (App. D.1),
//! classifier-guidance scale and schedule (App. G.1) and the clean classifier used for filtering
//! (App. G.2). Presets and commands read them from here.
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
    },
    PaperSettings {
        task: Task::B,
        n_train: 2000,
        epochs: 800,
        guidance_scale: 10.0,
        guidance_schedule: GuidanceScheduleKind::Constant,
        filter_arch: Arch::Mlp,
    },
    PaperSettings {
        task: Task::C,
        n_train: 2000,
        epochs: 1600,
        guidance_scale: 7.0,
        guidance_schedule: GuidanceScheduleKind::Piecewise,
        filter_arch: Arch::Unet,
    },
    PaperSettings {
        task: Task::D,
        n_train: 2000,
        epochs: 1000,
        guidance_scale: 10.0,
        guidance_schedule: GuidanceScheduleKind::Constant,
        filter_arch: Arch::Unet,
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
}
