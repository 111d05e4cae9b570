use faer::MatRef;
use layerlaw_geometry::{separation, Labels, SeparationOptions};
use std::time::Instant;
fn main() {
    let (n, p, k) = (60000usize, 1024usize, 10usize);
    let mut st = 1u64;
    let mut next = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((st >> 40) as f32) / (1u64 << 24) as f32 - 0.5 };
    let y: Vec<i64> = (0..n).map(|i| (i % k) as i64).collect();
    let means: Vec<f32> = (0..k * p).map(|_| next()).collect();
    let x: Vec<f32> = (0..n * p).map(|idx| means[(idx / p % k) * p + idx % p] + next()).collect();
    let labels = Labels::new(&y, Some(k)).unwrap();
    let view = MatRef::from_row_major_slice(&x, n, p);
    for _ in 0..8 {
        let t = Instant::now();
        let s = separation(view, &labels, &SeparationOptions::default()).unwrap();
        println!("{:.1} ms D={}", t.elapsed().as_secs_f64() * 1e3, s.fuzziness);
    }
}
