//! `Resize → ToTensor → Normalize`, the torchvision input pipeline of the papers' code.

use crate::error::DataError;
use crate::image_set::ImageSet;
use crate::resize::PilBilinear;

/// Which channels of the normalised images to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ChannelMode {
    /// All channels, channel-major (`c × s × s` per image).
    All,
    /// Only channel `k` (`s × s` per image). The official GFNN on CIFAR-10 keeps only channel 1
    /// (green) of the normalised 10×10 tensor (`models.py` l.32-33 of HornHehhf/Equi-Separation).
    Only(usize),
}

/// Resizes every image to `size × size` with [`crate::resize_bilinear_pil`] (per channel), then
/// applies `ToTensor` and `Normalize` in `f32` exactly as torchvision does:
/// $x = (p / 255 - \mu_c) / \sigma_c$, each operation rounded to `f32`.
///
/// `mean` and `std` have one entry per channel of `set`, or a single entry used for every
/// channel (torchvision broadcasts the same way). Returns a row-major `n × (c' · size · size)`
/// matrix, with $c' = c$ for [`ChannelMode::All`] and $c' = 1$ for [`ChannelMode::Only`].
/// For the papers: Fashion-MNIST / MNIST at 10×10 use $\mu = \sigma = 0.5$; CIFAR-10 uses
/// $\mu = (0.4914, 0.4822, 0.4465)$, $\sigma = (0.247, 0.243, 0.261)$ (He & Su 2023, `data.py`).
///
/// Errors on a zero `size`, a `mean`/`std` of the wrong length, a `std` entry that is zero or not
/// finite, a non-finite `mean`, or a channel index out of range.
pub fn to_normalized_f32(
    set: &ImageSet,
    size: usize,
    mean: &[f32],
    std: &[f32],
    channel: ChannelMode,
) -> Result<Vec<f32>, DataError> {
    let c = set.channels;
    let bad = |reason: String| Err(DataError::InvalidNormalization { reason });
    for (what, v) in [("mean", mean), ("std", std)] {
        if v.len() != c && v.len() != 1 {
            return bad(format!(
                "{what} has {} entries, the images have {c} channels",
                v.len()
            ));
        }
    }
    if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
        return bad(format!("mean entry {m} is not finite"));
    }
    if let Some(s) = std.iter().find(|s| !s.is_finite() || **s == 0.0) {
        return bad(format!(
            "std entry {s} is zero or not finite (division by it would give inf/NaN)"
        ));
    }
    let channels: Vec<usize> = match channel {
        ChannelMode::All => (0..c).collect(),
        ChannelMode::Only(k) if k < c => vec![k],
        ChannelMode::Only(k) => {
            return bad(format!(
                "channel {k} requested, the images have {c} channels"
            ))
        }
    };
    if set.images.len() != set.n * set.image_len() || set.labels.len() != set.n {
        return Err(DataError::InvalidGeometry {
            reason: format!(
                "image set claims n={} of {}x{}x{} but holds {} pixel bytes and {} labels",
                set.n,
                c,
                set.height,
                set.width,
                set.images.len(),
                set.labels.len()
            ),
        });
    }
    let resampler = PilBilinear::new(set.height, set.width, size, size)?;
    let plane_in = set.height * set.width;
    let plane_out = size * size;
    let mut out = Vec::with_capacity(set.n * channels.len() * plane_out);
    let mut resized = vec![0u8; plane_out];
    for img in set.images.chunks_exact(set.image_len().max(1)).take(set.n) {
        for &ch in &channels {
            resampler.resize_into(&img[ch * plane_in..(ch + 1) * plane_in], &mut resized)?;
            let m = mean[if mean.len() == 1 { 0 } else { ch }];
            let s = std[if std.len() == 1 { 0 } else { ch }];
            out.extend(resized.iter().map(|&p| (f32::from(p) / 255.0 - m) / s));
        }
    }
    Ok(out)
}
