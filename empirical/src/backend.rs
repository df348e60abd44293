//! Compute backends: burn 0.21's `Flex` CPU backend by default; CUDA (burn-cuda) behind the
//! `cuda` feature and wgpu (burn-wgpu: Vulkan, Metal, DX12, or a software Vulkan device such as
//! Mesa's lavapipe) behind the `wgpu` feature, each probed at run time so that a missing device
//! is a clear error, not a panic.
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

/// wgpu inference backend (burn-wgpu's default: f32, kernel fusion, autotuning).
#[cfg(feature = "wgpu")]
pub type Wgpu = burn_wgpu::Wgpu;
/// wgpu training backend.
#[cfg(feature = "wgpu")]
pub type WgpuAutodiff = burn::backend::Autodiff<Wgpu>;

/// Which device a command runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceKind {
    Cpu,
    Cuda,
    /// burn-wgpu on the default wgpu adapter (a GPU when there is one, else a CPU Vulkan
    /// device such as lavapipe); `CUBECL_WGPU_DEFAULT_DEVICE` (e.g. `Cpu`, `DiscreteGpu(0)`)
    /// picks another.
    Wgpu,
}

impl DeviceKind {
    /// Short name for run.json.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "flex (CPU)",
            DeviceKind::Cuda => "cuda",
            DeviceKind::Wgpu => "wgpu",
        }
    }
}

/// Check that `kind` can be used (see [`probe_cuda`], [`probe_wgpu`]); the CPU always can.
pub fn probe(kind: DeviceKind) -> Result<()> {
    match kind {
        DeviceKind::Cpu => Ok(()),
        DeviceKind::Cuda => probe_cuda(),
        DeviceKind::Wgpu => probe_wgpu(),
    }
}

/// The message of a caught panic payload.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown error".into())
}

/// Run `f` with the panic message printer silenced, catching a panic. The error is the first
/// panic message seen meanwhile on any thread (a device runtime may fail on its own thread and
/// the caller only see a closed channel), else the caught panic's message.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn catch_quietly<R>(
    f: impl FnOnce() -> R + std::panic::UnwindSafe,
) -> std::result::Result<R, String> {
    use std::sync::{Arc, Mutex};
    let first: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = first.clone();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut slot) = seen.lock() {
            if slot.is_none() {
                let text = info.to_string();
                // "panicked at FILE:LINE:COL:\nMESSAGE": keep the message
                let msg = text.split_once('\n').map_or(text.as_str(), |(_, m)| m);
                *slot = Some(msg.trim().to_string());
            }
        }
    }));
    let r = std::panic::catch_unwind(f);
    std::panic::set_hook(prev);
    r.map_err(|p| {
        first
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_else(|| panic_message(p.as_ref()))
    })
}

/// Check that wgpu can be used: with the `wgpu` feature, run a tiny computation on the default
/// wgpu device (catching burn-wgpu's panic when no adapter is found, e.g. no Vulkan driver);
/// without it, say how to build it.
pub fn probe_wgpu() -> Result<()> {
    #[cfg(feature = "wgpu")]
    {
        use burn::tensor::Tensor;
        let r = catch_quietly(|| {
            let device = burn_wgpu::WgpuDevice::default();
            let t = Tensor::<Wgpu, 1>::from_floats([1.0f32, 2.0], &device);
            t.sum().into_data().to_vec::<f32>()
        });
        match r {
            Ok(Ok(v)) if v == [3.0] => Ok(()),
            Ok(Ok(v)) => Err(Error::Device(format!(
                "the wgpu device computed 1 + 2 = {v:?}; use `--device cpu`"
            ))),
            Ok(Err(e)) => Err(Error::Device(format!(
                "the wgpu device returned unreadable data ({e:?}); use `--device cpu`"
            ))),
            Err(msg) => Err(Error::Device(format!(
                "no usable wgpu device: no adapter could be started ({msg}); use `--device cpu`, \
                 or install a Vulkan driver (on Debian without a GPU: Mesa's lavapipe, \
                 `bash scripts/vulkan/up.sh`)"
            ))),
        }
    }
    #[cfg(not(feature = "wgpu"))]
    {
        Err(Error::Device(
            "this binary was built without wgpu support; rebuild with `--features wgpu`".into(),
        ))
    }
}

/// Check that CUDA can be used: with the `cuda` feature, run a tiny computation on GPU 0
/// (catching burn-cuda's panic when no driver/GPU is present); without it, say how to build it.
pub fn probe_cuda() -> Result<()> {
    #[cfg(feature = "cuda")]
    {
        use burn::tensor::Tensor;
        let r = catch_quietly(|| {
            let device = burn_cuda::CudaDevice::default();
            let t = Tensor::<Cuda, 1>::from_floats([1.0f32, 2.0], &device);
            t.sum().into_data()
        });
        match r {
            Ok(_) => Ok(()),
            Err(msg) => Err(Error::Device(format!(
                "no usable CUDA GPU: the CUDA driver/runtime failed to start ({msg}); \
                     use `--device cpu` or run on a machine with an NVIDIA GPU and driver"
            ))),
        }
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(Error::Device(
            "this binary was built without CUDA support; rebuild with `--features cuda`".into(),
        ))
    }
}

/// Call the generic `$f::<B>(args.., &device)` on the autodiff backend of device `$kind`
/// (CPU, or CUDA / wgpu after their probe), returning its result.
macro_rules! with_backend {
    ($kind:expr, $f:ident ( $($a:expr),* )) => {
        match $kind {
            crate::backend::DeviceKind::Cpu => $f::<crate::backend::CpuAutodiff>($($a,)* &Default::default()),
            crate::backend::DeviceKind::Cuda => {
                crate::backend::probe_cuda()?;
                #[cfg(feature = "cuda")]
                {
                    $f::<crate::backend::CudaAutodiff>($($a,)* &Default::default())
                }
                #[cfg(not(feature = "cuda"))]
                {
                    unreachable!("probe_cuda fails without the cuda feature")
                }
            }
            crate::backend::DeviceKind::Wgpu => {
                crate::backend::probe_wgpu()?;
                #[cfg(feature = "wgpu")]
                {
                    $f::<crate::backend::WgpuAutodiff>($($a,)* &Default::default())
                }
                #[cfg(not(feature = "wgpu"))]
                {
                    unreachable!("probe_wgpu fails without the wgpu feature")
                }
            }
        }
    };
}
pub(crate) use with_backend;
