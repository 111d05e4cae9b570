//! Resizes every image of a dataset with the Pillow-exact bilinear resize and prints the SHA-256
//! of the concatenated outputs (to compare with Pillow on the full set) and the time taken.
//!
//! `cargo run --release -p layerlaw-data --example resize_full_dataset -- [fashion-mnist|mnist] [size]`
//!
//! Pillow side (Python 3.11.7, Pillow 13.0.0):
//! ```python
//! import gzip, hashlib, numpy as np; from PIL import Image
//! d = gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read()
//! x = np.frombuffer(d, np.uint8, offset=16).reshape(-1, 28, 28)
//! print(hashlib.sha256(b"".join(Image.fromarray(a).resize((10, 10), Image.BILINEAR).tobytes() for a in x)).hexdigest())
//! ```

use std::time::Instant;

use layerlaw_data::{load, sha256_hex, DatasetKind, PilBilinear};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let kind = match args.get(1).map(String::as_str) {
        Some("mnist") => DatasetKind::Mnist,
        _ => DatasetKind::FashionMnist,
    };
    let size: usize = args.get(2).map_or(Ok(10), |s| s.parse())?;
    let t0 = Instant::now();
    let split = load(kind, None)?;
    let t_load = t0.elapsed();
    let set = &split.train;
    let resampler = PilBilinear::new(set.height, set.width, size, size)?;
    let t1 = Instant::now();
    let mut out = vec![0u8; set.n * size * size];
    for (i, chunk) in out.chunks_exact_mut(size * size).enumerate() {
        resampler.resize_into(set.image(i).unwrap_or_default(), chunk)?;
    }
    let t_resize = t1.elapsed();
    println!(
        "{} train: {} images, loaded in {:.2?}, resized to {size}x{size} in {:.2?}",
        split.source, set.n, t_load, t_resize
    );
    println!("sha256 of resized train images: {}", sha256_hex(&out));
    Ok(())
}
