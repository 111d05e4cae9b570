use layerlaw_io::*;
use std::path::Path;
fn main() {
    let d = Path::new("/tmp/h-io-interop");
    std::fs::create_dir_all(d).unwrap();
    let a = vec![
        NamedArray { name: "layer1".into(), shape: vec![3, 2, 2], data: ArrayData::F32((0..12).map(|i| i as f32 * 0.3 - 1.0).collect()) },
        NamedArray { name: "layer2".into(), shape: vec![3, 4], data: ArrayData::F64((0..12).map(|i| (i as f64).sqrt()).collect()) },
        NamedArray { name: "labels".into(), shape: vec![3], data: ArrayData::Int(vec![-5, i64::MAX, 2]) },
        NamedArray { name: "s".into(), shape: vec![], data: ArrayData::F64(vec![2.5]) },
    ];
    write_safetensors(&d.join("w.safetensors"), &a, &[("k".into(), "v".into())]).unwrap();
    for x in &a { write_npy(&d.join(format!("{}.npy", x.name)), x).unwrap(); }
    for p in std::env::args().skip(1) {
        match load_feature_set(Path::new(&p), &Selection::default()) {
            Ok(fs) => println!("OK {p}: {} layers, notes {:?}", fs.layers.len(), fs.skipped),
            Err(e) => println!("ERR {e}"),
        }
    }
}
