//! In-memory image sets and train/test splits.

/// A set of `n` images of `channels × height × width` `u8` pixels with one class label each.
///
/// `images` is row-major `n × channels × height × width` (each image channel-major, as in the
/// IDX and CIFAR-10 binary files), `labels[i]` is the class of image `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    /// Pixels, `n · channels · height · width` bytes.
    pub images: Vec<u8>,
    /// Class labels, `n` bytes.
    pub labels: Vec<u8>,
    /// Number of images.
    pub n: usize,
    /// Channels per image (1 for (Fashion-)MNIST, 3 for CIFAR-10).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
}

impl ImageSet {
    /// Bytes per image, `channels · height · width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i` (channel-major); `None` when `i >= n`.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let len = self.image_len();
        self.images.get(i * len..(i + 1) * len)
    }

    /// Number of classes, taken as $K = 1 + \max_i y_i$ (0 for an empty set).
    pub fn num_classes(&self) -> usize {
        self.labels.iter().max().map_or(0, |&m| usize::from(m) + 1)
    }

    /// Examples per class, $n_k = |\{i : y_i = k\}|$ for $k = 0..K-1$ with $K$ = [`Self::num_classes`].
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for &y in &self.labels {
            counts[usize::from(y)] += 1;
        }
        counts
    }

    /// The images and labels at `idx`, in that order (repeats allowed).
    ///
    /// Indices `>= n` are skipped, so the result has at most `idx.len()` images; callers get
    /// in-range indices from [`crate::per_class_subset`] / [`crate::counts_subset`].
    pub fn subset(&self, idx: &[usize]) -> ImageSet {
        let len = self.image_len();
        let mut images = Vec::with_capacity(idx.len() * len);
        let mut labels = Vec::with_capacity(idx.len());
        for &i in idx.iter().filter(|&&i| i < self.n) {
            images.extend_from_slice(&self.images[i * len..(i + 1) * len]);
            labels.push(self.labels[i]);
        }
        ImageSet {
            n: labels.len(),
            images,
            labels,
            channels: self.channels,
            height: self.height,
            width: self.width,
        }
    }
}

/// A dataset: training and test sets plus provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training set.
    pub train: ImageSet,
    /// Test set.
    pub test: ImageSet,
    /// Where the data came from (dataset name and directory, or "embedded ...").
    pub source: String,
    /// `(file name, SHA-256 hex of the file bytes as read)`, one per file, for run manifests.
    pub checksums: Vec<(String, String)>,
}
