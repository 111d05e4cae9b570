//! The reading and statistics path of `layerlaw measure FILE`, without the command line's
//! other dependencies: [`load_feature_set`] (layers viewed in place where the file allows),
//! then the separation fuzziness $D_l = \mathrm{Tr}(SS_w SS_b^+)$ of every layer.
//!
//! `cargo run --release -p layerlaw-io --example measure_file -- FILE` prints one JSON object
//! (`layers[].fuzziness`, the seconds spent reading and measuring) on stdout; used by
//! `benches/measure_npz.py --cmd`. With `--compare-read` it also times the two ways of getting
//! the file's bytes: `std::fs::read` (a fresh buffer, zero-filled by the kernel, then a copy
//! from the page cache) and a populated read-only memory map (what the readers do).

use std::path::PathBuf;
use std::time::Instant;

use layerlaw_geometry::{separation_layers, Labels, LayerFeatures, SeparationOptions};
use layerlaw_io::{load_feature_set, Selection};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: measure_file FILE [--compare-read]")?
        .into();
    let compare = std::env::args().any(|a| a == "--compare-read");
    let bytes_in = if compare {
        Some(compare_read(&path)?)
    } else {
        None
    };
    let t0 = Instant::now();
    let set = load_feature_set(&path, &Selection::default())?;
    let t_read = t0.elapsed().as_secs_f64();
    let labels = Labels::new(&set.labels, None)?;
    let views: Vec<LayerFeatures<'_>> = set
        .layers
        .iter()
        .map(|l| l.view().map(|v| v.features).ok_or("layer is not viewable"))
        .collect::<Result<_, _>>()?;
    let results = separation_layers(&views, &labels, &SeparationOptions::default());
    let mut layers = Vec::with_capacity(results.len());
    for (layer, result) in set.layers.iter().zip(results) {
        let sep = result.map_err(|e| format!("{}: layer {:?}: {e}", path.display(), layer.name))?;
        layers.push(serde_json::json!({
            "name": layer.name,
            "fuzziness": sep.fuzziness,
            "mapped": layer.data.is_memory_mapped(),
        }));
    }
    let out = serde_json::json!({
        "layers": layers,
        "read_s": t_read,
        "total_s": t0.elapsed().as_secs_f64(),
        "fs_read_s": bytes_in.map(|b| b.0),
        "mmap_populate_s": bytes_in.map(|b| b.1),
    });
    println!("{out}");
    Ok(())
}

/// Seconds to `std::fs::read` the file and to map it (populated), each summing every 4096th
/// byte so that neither is optimised away.
fn compare_read(path: &std::path::Path) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let v = std::fs::read(path)?;
    let s1: u64 = v.iter().step_by(4096).map(|&b| u64::from(b)).sum();
    let read_s = t.elapsed().as_secs_f64();
    drop(v);
    let t = Instant::now();
    let file = std::fs::File::open(path)?;
    // SAFETY: read-only map of a file this process does not modify, dropped before returning.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&file)? };
    let s2: u64 = map.iter().step_by(4096).map(|&b| u64::from(b)).sum();
    let map_s = t.elapsed().as_secs_f64();
    assert_eq!(s1, s2, "both ways read the same bytes");
    Ok((read_s, map_s))
}
