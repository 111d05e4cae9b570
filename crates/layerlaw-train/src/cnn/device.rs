//! The burn device a [`crate::CnnModel`] runs on: the `Flex` CPU backend, or with the `gpu`
//! feature burn's wgpu runtime on Vulkan (initialised once per process).

use crate::config::Device as Compute;
use crate::error::TrainError;
use burn::tensor::Device;

/// The burn device behind `device`; the GPU is initialised once per process (wgpu on Vulkan).
pub(super) fn burn_device(device: Compute) -> Result<Device, TrainError> {
    match device {
        Compute::Cpu => Ok(Device::flex()),
        Compute::Gpu => gpu::device(),
    }
}

/// Name of the GPU adapter [`crate::Device::Gpu`] runs on (e.g. `NVIDIA H100 80GB HBM3`, or
/// `llvmpipe (LLVM 15.0.6, 256 bits)` for Mesa's lavapipe), initialising the GPU if needed.
///
/// Errors: [`TrainError::GpuNotBuilt`] without the `gpu` feature, [`TrainError::GpuInit`] when no
/// Vulkan adapter can be opened.
pub fn gpu_adapter() -> Result<String, TrainError> {
    let device = gpu::device()?;
    Ok(gpu::adapter_name(&device))
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::Device;
    use crate::error::TrainError;
    use burn::tensor::wgpu::WgpuBackend;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::OnceLock;

    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();

    /// The process-wide wgpu device on Vulkan (wgpu's default adapter: a discrete GPU first).
    pub(super) fn device() -> Result<Device, TrainError> {
        DEVICE
            .get_or_init(|| {
                let init = || {
                    Device::wgpu_options()
                        .graphics_api(WgpuBackend::Vulkan)
                        .init()
                        .map_err(|e| e.to_string())
                };
                // wgpu reports most failures as errors, but a broken driver can also panic.
                catch_unwind(AssertUnwindSafe(init)).unwrap_or_else(|panic| {
                    Err(panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "the Vulkan runtime panicked".into()))
                })
            })
            .clone()
            .map_err(|reason| TrainError::GpuInit { reason })
    }

    pub(super) fn adapter_name(device: &Device) -> String {
        device
            .identity()
            .map_or_else(|| "unknown adapter".into(), |id| id.name)
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::Device;
    use crate::error::TrainError;

    pub(super) fn device() -> Result<Device, TrainError> {
        Err(TrainError::GpuNotBuilt)
    }

    pub(super) fn adapter_name(_: &Device) -> String {
        String::new()
    }
}
