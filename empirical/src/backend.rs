//! Compute backends: burn 0.21's `Flex` CPU backend by default; CUDA (burn-cuda) behind the
//! `cuda` feature, probed at run time so that a missing GPU is a clear error, not a panic.
use crate::error::{Error, Result};

/// CPU inference backend.
pub type Cpu = burn::backend::Flex;
/// CPU training backend.
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

/// CUDA inference backend.
#[cfg(feature = "cuda")]
pub type Cuda = burn_cuda::Cuda;
/// CUDA training backend.
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;

/// Which device a command runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceKind {
    Cpu,
    Cuda,
}

impl DeviceKind {
    /// Short name for run.json.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "flex (CPU)",
            DeviceKind::Cuda => "cuda",
        }
    }
}

/// Check that CUDA can be used: with the `cuda` feature, run a tiny computation on GPU 0
/// (catching burn-cuda's panic when no driver/GPU is present); without it, say how to build it.
pub fn probe_cuda() -> Result<()> {
    #[cfg(feature = "cuda")]
    {
        use burn::tensor::Tensor;
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = std::panic::catch_unwind(|| {
            let device = burn_cuda::CudaDevice::default();
            let t = Tensor::<Cuda, 1>::from_floats([1.0f32, 2.0], &device);
            t.sum().into_data()
        });
        std::panic::set_hook(prev);
        match r {
            Ok(_) => Ok(()),
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown error".into());
                Err(Error::Device(format!(
                    "no usable CUDA GPU: the CUDA driver/runtime failed to start ({msg}); \
                     use `--device cpu` or run on a machine with an NVIDIA GPU and driver"
                )))
            }
        }
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(Error::Device(
            "this binary was built without CUDA support; rebuild with `--features cuda`".into(),
        ))
    }
}
