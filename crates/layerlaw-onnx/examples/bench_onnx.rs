//! Images per second of running an ONNX model through the runner with every default layer
//! promoted to an output.
//!
//! ```text
//! cargo run --release -p layerlaw-onnx --example bench_onnx -- MODEL.onnx [IMAGES] [CHUNK] [THREADS] [REPEATS]
//! ```
//!
//! Inputs are deterministic pseudo-random values in [-1, 1) of the model's input shape (the
//! batch axis must be dynamic). The callback only counts the values it is handed, so this
//! times the engine; the statistics that follow are the same code whatever the engine.
//! THREADS chunks run at once. Prints one line per repeat and a final `images_per_s=...` line
//! (the best repeat) that `scripts/bench_onnx.py` reads.

use std::time::Instant;

use layerlaw_onnx::{Dim, OnnxError, OnnxModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: bench_onnx MODEL.onnx [IMAGES] [CHUNK] [THREADS] [REPEATS]")?;
    let images: usize = args.get(2).map_or(Ok(2000), |s| s.parse())?;
    let chunk: usize = args.get(3).map_or(Ok(64), |s| s.parse())?;
    let threads: usize = args
        .get(4)
        .map_or(Ok(layerlaw_onnx::available_threads()), |s| s.parse())?;
    let repeats: usize = args.get(5).map_or(Ok(3), |s| s.parse())?;

    let t = Instant::now();
    let model = OnnxModel::load(path)?;
    let load_s = t.elapsed().as_secs_f64();
    let mut shape = vec![images];
    for d in &model.input_shape().dims[1..] {
        match d {
            Dim::Fixed(n) => shape.push(*n),
            Dim::Dynamic(s) => return Err(format!("input axis `{s}` is dynamic").into()),
        }
    }
    let per: usize = shape[1..].iter().product();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let x: Vec<f32> = (0..images * per)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    let layers = model.default_layers();
    let runner = model.runner(&layers)?.with_threads(threads);
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    println!(
        "model={path} input={} layers={} ({}) threads={} chunk={chunk} load_s={load_s:.3}",
        model.input_shape(),
        layers.len(),
        names.join(" "),
        runner.threads()
    );
    // Optimisation happens on the first chunk of each shape: do it for both shapes (full
    // chunks and the last one) before timing.
    let t = Instant::now();
    for rows in [chunk.min(images), images % chunk] {
        if rows > 0 {
            let mut s = shape.clone();
            s[0] = rows;
            runner.run_chunks(&x[..rows * per], &s, chunk, |_, _| Ok::<(), OnnxError>(()))?;
        }
    }
    println!("optimise_s={:.3}", t.elapsed().as_secs_f64());
    let mut best = 0f64;
    for r in 0..repeats {
        let mut values = 0usize;
        let t = Instant::now();
        let report = runner.run_chunks(&x, &shape, chunk, |_, rows| {
            values += rows.iter().map(|l| l.nrows() * l.ncols()).sum::<usize>();
            Ok::<(), OnnxError>(())
        })?;
        let s = t.elapsed().as_secs_f64();
        let ips = report.rows as f64 / s;
        best = best.max(ips);
        println!("repeat={r} seconds={s:.3} images_per_s={ips:.1} values={values}");
    }
    println!("images_per_s={best:.1}");
    Ok(())
}
