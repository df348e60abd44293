//! Studies as declared grids (App. D.3's sweeps, Table 2 per cell): a TOML [`spec`] of a base
//! run config and axes over any config key, resolved into [`plan`]ned points with stable ids,
//! each run as its own run directory ([`exec`]: in this process, or as child processes
//! `jobs` at a time), gathered into one table ([`collect`]), or handed to a Slurm cluster as a
//! job array ([`slurm`]). Files: [`layout`]; a finished point's record: [`record`].
pub mod collect;
pub mod exec;
pub mod layout;
pub mod plan;
pub mod record;
pub mod slurm;
pub mod spec;

pub use collect::{collect, SweepTable};
pub use exec::{run_local, run_one, LocalOptions, Outcome, PointState};
pub use layout::SweepLayout;
pub use plan::{plan, Point};
pub use record::PointRecord;
pub use spec::{Combine, Step, SweepSpec};
