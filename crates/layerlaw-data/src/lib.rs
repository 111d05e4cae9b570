//! Image datasets for the layerlaw experiments.
//!
//! * Readers for IDX (MNIST / Fashion-MNIST, raw or gzipped) and CIFAR-10 binary batches, strict
//!   about every length and magic number ([`parse_idx`], [`read_idx_pair`], [`parse_cifar_batch`]).
//! * Locating a dataset on disk ([`load`], [`DatasetKind`]) with an actionable error when absent.
//! * An embedded, real 1000 + 1000-image slice of Fashion-MNIST ([`embedded_fashion_mnist`]).
//! * The papers' torchvision preprocessing, byte-exact: Pillow bilinear resize
//!   ([`resize_bilinear_pil`]) then `ToTensor` + `Normalize` ([`to_normalized_f32`]).
//! * Seeded balanced and step-imbalanced subsets ([`per_class_subset`], [`counts_subset`],
//!   [`step_imbalance_counts`]).
//!
//! References: He & Su, "A law of data separation in deep learning", PNAS 120(36) (2023);
//! Fang, He, Long & Su, "Exploring deep neural networks via layer-peeled model", PNAS 118(43)
//! (2021); the setup is summarised in `docs/definitions.md`, "GFNN training" and "Deep-net
//! training".

mod checksum;
mod cifar;
mod embedded;
mod error;
mod idx;
mod image_set;
mod locate;
mod normalize;
mod resize;
mod subset;

pub use checksum::sha256_hex;
pub use cifar::{
    parse_cifar_batch, read_cifar_batches, CIFAR_CHANNELS, CIFAR_CLASSES, CIFAR_RECORD_LEN,
    CIFAR_SIDE,
};
pub use embedded::{embedded_fashion_mnist, EMBEDDED_SOURCE};
pub use error::DataError;
pub use idx::{
    image_set_from_idx, maybe_gunzip, parse_idx, read_idx_pair, IdxArray, IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
};
pub use image_set::{ImageSet, Split};
pub use locate::{
    load, load_from_dirs, search_dirs, DatasetKind, DATA_DIR_ENV, DEBIAN_FASHION_MNIST_DIR,
};
pub use normalize::{to_normalized_f32, ChannelMode};
pub use resize::{resize_bilinear_pil, PilBilinear};
pub use subset::{counts_subset, per_class_subset, step_imbalance_counts};
