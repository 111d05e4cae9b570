//! Two-pass streaming statistics equal the batch `separation` on the same rows, whatever the
//! batches and the merge order; bytes round-trip; every refusal names its batch and cause.
mod common;

use common::{assert_rel, clustered, to_f32};
use faer::{Mat, MatRef};
use layerlaw_geometry::{
    classifier_collapse, finish, neural_collapse_classifier, separation, Basis, CentreAgreement,
    GeometryError, LayerFeatures, Pass1, Pass2, Separation, SeparationOptions,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random cut points splitting `0..n` into batches of 0 to `max` rows (empty batches too).
fn random_batches(n: usize, max: usize, seed: u64) -> Vec<std::ops::Range<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut s = 0;
    while s < n {
        let e = (s + rng.random_range(0..=max)).min(n);
        out.push(s..e);
        s = e;
    }
    out
}

/// Both passes over `batches` of `x`, each batch fed to one of `workers` states (round robin),
/// the states merged in reverse order; returns the finished separation.
fn two_pass<'a>(
    view: impl Fn(std::ops::Range<usize>) -> LayerFeatures<'a>,
    y: &[usize],
    k: usize,
    p: usize,
    batches: &[std::ops::Range<usize>],
    workers: usize,
) -> (Basis, Separation) {
    let opts = SeparationOptions::default();
    let mut firsts: Vec<Pass1> = (0..workers).map(|_| Pass1::new(k, p).unwrap()).collect();
    for (i, b) in batches.iter().enumerate() {
        firsts[i % workers]
            .update(view(b.clone()), &y[b.clone()])
            .unwrap();
    }
    let mut pass1 = firsts.pop().unwrap();
    while let Some(other) = firsts.pop() {
        pass1.merge(&other).unwrap();
    }
    let basis = pass1.close(&opts).unwrap();
    let mut seconds: Vec<Pass2> = (0..workers).map(|_| Pass2::new(&basis)).collect();
    for (i, b) in batches.iter().enumerate() {
        seconds[(i + 1) % workers]
            .update(&basis, view(b.clone()), &y[b.clone()])
            .unwrap();
    }
    let mut pass2 = seconds.remove(0);
    for other in &seconds {
        pass2.merge(other).unwrap();
    }
    let sep = finish(&basis, &pass2).unwrap();
    (basis, sep)
}

fn assert_same(got: &Separation, want: &Separation, tol: f64, what: &str) {
    assert_eq!(
        (
            got.dim,
            got.num_classes,
            got.num_samples,
            got.rank,
            got.rank_nc1
        ),
        (
            want.dim,
            want.num_classes,
            want.num_samples,
            want.rank,
            want.rank_nc1
        ),
        "{what}"
    );
    assert_rel(got.fuzziness, want.fuzziness, tol, &format!("{what} D"));
    assert_rel(got.nc1, want.nc1, tol, &format!("{what} NC1"));
    assert_rel(
        got.trace_within,
        want.trace_within,
        tol,
        &format!("{what} Tr SSw"),
    );
    assert_rel(
        got.trace_between,
        want.trace_between,
        tol,
        &format!("{what} Tr SSb"),
    );
    assert_rel(
        got.equinorm,
        want.equinorm,
        tol,
        &format!("{what} equinorm"),
    );
    assert_rel(
        got.etf_distance,
        want.etf_distance,
        tol,
        &format!("{what} ETF"),
    );
    let (gm, wm) = (got.class_means(), want.class_means());
    let scale = wm.norm_l2() / ((wm.nrows() * wm.ncols()) as f64).sqrt();
    for c in 0..wm.nrows() {
        for j in 0..wm.ncols() {
            assert!(
                (gm[(c, j)] - wm[(c, j)]).abs() <= tol * scale,
                "{what} mean ({c},{j})"
            );
        }
    }
}

#[test]
fn equals_separation_for_any_batches_and_merge_order() {
    // (class sizes, p): p = 1, small p, K = 2, K = 10 imbalanced, a 65,536-wide layer.
    let cases: &[(&[usize], usize)] = &[
        (&[9, 4], 1),
        (&[30, 5, 17], 1),
        (&[40, 35], 6),
        (&[100, 3, 50, 7, 20, 60, 11, 5, 80, 2], 23),
        (&[13, 9, 11], 65_536),
    ];
    let opts = SeparationOptions::default();
    for (case, &(counts, p)) in cases.iter().enumerate() {
        let (x, labels) = clustered(counts, p, 10 + case as u64);
        let (k, n, y) = (counts.len(), labels.len(), labels.as_slice());
        let x32 = to_f32(x.as_ref());
        let want64 = separation(x.as_ref(), &labels, &opts).unwrap();
        let want32 = separation(x32.as_ref(), &labels, &opts).unwrap();
        for (seed, workers) in [(1u64, 1usize), (2, 3), (3, 2)] {
            let batches = random_batches(n, 1 + n / 4, seed);
            let (_, got64) = two_pass(
                |r| LayerFeatures::F64(x.as_ref().subrows(r.start, r.len())),
                y,
                k,
                p,
                &batches,
                workers,
            );
            assert_same(
                &got64,
                &want64,
                1e-10,
                &format!("f64 K={k} p={p} seed {seed}"),
            );
            let (_, got32) = two_pass(
                |r| LayerFeatures::F32(x32.as_ref().subrows(r.start, r.len())),
                y,
                k,
                p,
                &batches,
                workers,
            );
            assert_same(
                &got32,
                &want32,
                1e-10,
                &format!("f32 K={k} p={p} seed {seed}"),
            );
        }
    }
}

#[test]
fn strided_batches_and_sums_from_elsewhere_give_the_same_result() {
    let (x, labels) = clustered(&[20, 31, 12, 8], 9, 7);
    let (n, k, p, y) = (labels.len(), 4, 9, labels.as_slice());
    let opts = SeparationOptions::default();
    let want = separation(x.as_ref(), &labels, &opts).unwrap();
    // Column-major storage: rows are strided.
    let xt = x.transpose().to_owned();
    let strided = xt.as_ref().transpose();
    let batches = random_batches(n, 16, 9);
    let (basis, got) = two_pass(
        |r| LayerFeatures::F64(strided.subrows(r.start, r.len())),
        y,
        k,
        p,
        &batches,
        2,
    );
    assert_same(&got, &want, 1e-10, "strided");

    // Sums formed outside (as torch does on a device) enter through from_parts.
    let mut counts = vec![0u64; k];
    let mut sums = vec![0.0f64; k * p];
    for i in 0..n {
        counts[y[i]] += 1;
        for j in 0..p {
            sums[y[i] * p + j] += x[(i, j)];
        }
    }
    let outside = Pass1::from_parts(counts.clone(), sums)
        .unwrap()
        .close(&opts)
        .unwrap();
    let (q, means) = (outside.q(), outside.means());
    let r = q.ncols();
    let mut scatter = vec![0.0f64; r * r];
    let mut sum_squares = 0.0;
    for i in 0..n {
        let z: Vec<f64> = (0..p).map(|j| x[(i, j)] - means[(y[i], j)]).collect();
        sum_squares += z.iter().map(|v| v * v).sum::<f64>();
        let zq: Vec<f64> = (0..r)
            .map(|a| (0..p).map(|j| z[j] * q[(j, a)]).sum())
            .collect();
        for a in 0..r {
            for b in 0..r {
                scatter[a * r + b] += zq[a] * zq[b];
            }
        }
    }
    let pass2 = Pass2::from_parts(&outside, counts, &scatter, sum_squares).unwrap();
    assert_same(
        &finish(&outside, &pass2).unwrap(),
        &want,
        1e-10,
        "from_parts",
    );
    assert_eq!(outside.rank(), basis.rank());
    assert_eq!(outside.counts(), labels.counts());
}

/// Reads bytes as one kind of state, keeping only the error.
type Parse = fn(&[u8]) -> Option<GeometryError>;

#[test]
fn bytes_round_trip_and_corruption_is_refused() {
    let (x, labels) = clustered(&[15, 22, 9], 5, 3);
    let (k, p, y) = (3, 5, labels.as_slice());
    let mut pass1 = Pass1::new(k, p).unwrap();
    pass1
        .update(LayerFeatures::F64(x.as_ref().subrows(0, 20)), &y[..20])
        .unwrap();
    pass1
        .update(LayerFeatures::F64(x.as_ref().subrows(20, 26)), &y[20..])
        .unwrap();
    let bytes1 = pass1.to_bytes();
    let back1 = Pass1::from_bytes(&bytes1).unwrap();
    assert_eq!(back1, pass1);
    assert_eq!(back1.batches(), 2);
    let basis = pass1.close(&SeparationOptions::default()).unwrap();
    assert_eq!(back1.close(&SeparationOptions::default()).unwrap(), basis);
    let mut pass2 = Pass2::new(&basis);
    pass2
        .update(&basis, LayerFeatures::F64(x.as_ref()), y)
        .unwrap();
    let bytes2 = pass2.to_bytes();
    let back2 = Pass2::from_bytes(&bytes2).unwrap();
    assert_eq!(back2, pass2);
    assert_eq!(
        finish(&basis, &back2).unwrap().fuzziness,
        finish(&basis, &pass2).unwrap().fuzziness
    );

    let parse: [(&Vec<u8>, Parse); 2] = [
        (&bytes1, |b| Pass1::from_bytes(b).err()),
        (&bytes2, |b| Pass2::from_bytes(b).err()),
    ];
    for (bytes, parse) in parse {
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert!(matches!(
            parse(&flipped),
            Some(GeometryError::CorruptBytes { reason, .. }) if reason.contains("checksum")
        ));
        assert!(matches!(
            parse(&bytes[..bytes.len() - 9]),
            Some(GeometryError::CorruptBytes { .. })
        ));
        let mut version = bytes.clone();
        version[8] = 9;
        assert!(matches!(
            parse(&version),
            Some(GeometryError::CorruptBytes { offset: 8, .. })
        ));
    }
    // Each kind refuses the other's bytes by their magic.
    assert!(matches!(
        Pass1::from_bytes(&bytes2),
        Err(GeometryError::CorruptBytes { offset: 0, .. })
    ));
    assert!(matches!(
        Pass2::from_bytes(&bytes1),
        Err(GeometryError::CorruptBytes { offset: 0, .. })
    ));
    assert!(matches!(
        Pass1::from_bytes(b"short"),
        Err(GeometryError::CorruptBytes { offset: 0, .. })
    ));
}

fn in_batch(e: GeometryError) -> (u64, GeometryError) {
    match e {
        GeometryError::InBatch { batch, source } => (batch, *source),
        other => panic!("expected InBatch, got {other:?}"),
    }
}

#[test]
fn bad_batches_name_their_batch_and_cause_and_change_nothing() {
    let x = Mat::from_fn(6, 3, |i, j| (i * 3 + j) as f64);
    let y = [0usize, 1, 0, 1, 0, 1];
    assert_eq!(
        Pass1::new(1, 3),
        Err(GeometryError::TooFewClasses { num_classes: 1 })
    );
    assert_eq!(Pass1::new(2, 0), Err(GeometryError::ZeroDimension));
    let mut pass1 = Pass1::new(2, 3).unwrap();
    pass1.update(LayerFeatures::F64(x.as_ref()), &y).unwrap();
    let before = pass1.clone();
    // Batch 1: a label out of range.
    assert_eq!(
        in_batch(
            pass1
                .update(LayerFeatures::F64(x.as_ref()), &[0, 1, 2, 0, 1, 0])
                .unwrap_err()
        ),
        (
            1,
            GeometryError::LabelOutOfRange {
                row: 2,
                value: 2,
                num_classes: 2
            }
        )
    );
    // Rows and labels disagree.
    assert_eq!(
        in_batch(
            pass1
                .update(LayerFeatures::F64(x.as_ref()), &y[..5])
                .unwrap_err()
        )
        .1,
        GeometryError::LengthMismatch { rows: 6, labels: 5 }
    );
    // Another feature dimension.
    let wide = Mat::<f64>::zeros(6, 4);
    assert!(matches!(
        in_batch(
            pass1
                .update(LayerFeatures::F64(wide.as_ref()), &y)
                .unwrap_err()
        )
        .1,
        GeometryError::ShapeMismatch {
            expected_cols: 3,
            cols: 4,
            ..
        }
    ));
    // A NaN: row and column within the batch.
    let mut bad = x.clone();
    bad[(4, 2)] = f64::NAN;
    let (batch, cause) = in_batch(
        pass1
            .update(LayerFeatures::F64(bad.as_ref()), &y)
            .unwrap_err(),
    );
    assert_eq!(batch, 1);
    assert!(
        matches!(
            cause,
            GeometryError::NonFiniteFeature { row: 4, col: 2, .. }
        ),
        "{cause:?}"
    );
    assert_eq!(pass1, before, "refused batches change nothing");
    let msg = pass1
        .update(LayerFeatures::F64(bad.as_ref()), &y)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("batch 1: feature at row 4, column 2"),
        "{msg}"
    );

    // A class never seen.
    let mut three = Pass1::new(3, 3).unwrap();
    three.update(LayerFeatures::F64(x.as_ref()), &y).unwrap();
    assert_eq!(
        three.close(&SeparationOptions::default()),
        Err(GeometryError::EmptyClass {
            class: 2,
            num_classes: 3
        })
    );
    // Merging states of other shapes.
    assert!(matches!(
        pass1.merge(&three),
        Err(GeometryError::IncompatibleMerge { .. })
    ));

    // Pass 2: NaN, other data than pass 1, another basis.
    let basis = pass1.close(&SeparationOptions::default()).unwrap();
    let mut pass2 = Pass2::new(&basis);
    let (batch, cause) = in_batch(
        pass2
            .update(&basis, LayerFeatures::F64(bad.as_ref()), &y)
            .unwrap_err(),
    );
    assert_eq!(batch, 0);
    assert!(matches!(
        cause,
        GeometryError::NonFiniteFeature { row: 4, col: 2, .. }
    ));
    pass2
        .update(
            &basis,
            LayerFeatures::F64(x.as_ref().subrows(0, 5)),
            &y[..5],
        )
        .unwrap();
    assert_eq!(
        finish(&basis, &pass2).unwrap_err(),
        GeometryError::PassMismatch {
            class: 1,
            pass1: 3,
            pass2: 2
        }
    );
    let msg = finish(&basis, &pass2).unwrap_err().to_string();
    assert!(msg.contains("shuffling"), "{msg}");
    let other = {
        let mut p1 = Pass1::new(2, 3).unwrap();
        p1.update(LayerFeatures::F64(x.as_ref().subrows(0, 4)), &y[..4])
            .unwrap();
        p1.close(&SeparationOptions::default()).unwrap()
    };
    assert!(matches!(
        finish(&other, &pass2),
        Err(GeometryError::IncompatibleMerge { .. })
    ));
    assert!(matches!(
        pass2.update(&other, LayerFeatures::F64(x.as_ref()), &y),
        Err(GeometryError::IncompatibleMerge { .. })
    ));
    assert!(matches!(
        pass2.merge(&Pass2::new(&other)),
        Err(GeometryError::IncompatibleMerge { .. })
    ));
    // Parts of the wrong size or value.
    assert!(matches!(
        Pass1::from_parts(vec![1, 2], vec![0.0; 5]),
        Err(GeometryError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Pass1::from_parts(vec![1, 2], vec![0.0, 1.0, f64::INFINITY, 0.0]),
        Err(GeometryError::NonFiniteArgument { row: 1, col: 0, .. })
    ));
    assert!(matches!(
        Pass2::from_parts(&basis, vec![3, 3], &[1.0, 2.0], 1.0),
        Err(GeometryError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Pass2::from_parts(&basis, vec![3, 3], &[1.0], -1.0),
        Err(GeometryError::InvalidOption {
            name: "sum_squares",
            ..
        })
    ));
}

#[test]
fn centre_agreement_equals_the_batch_classifier_metrics() {
    let (x, labels) = clustered(&[40, 25, 33, 12], 6, 21);
    let (k, p, y) = (4, 6, labels.as_slice());
    let w = Mat::from_fn(k, p, |c, j| ((c * 7 + j * 3) as f64 * 0.37).sin());
    let bias = [0.1, -0.2, 0.05, 0.0];
    let want = neural_collapse_classifier(x.as_ref(), &labels, w.as_ref(), Some(&bias)).unwrap();
    let mut pass1 = Pass1::new(k, p).unwrap();
    pass1.update(LayerFeatures::F64(x.as_ref()), y).unwrap();
    let basis = pass1.close(&SeparationOptions::default()).unwrap();
    let (mut a, mut b) = (CentreAgreement::default(), CentreAgreement::default());
    let x32 = to_f32(x.as_ref());
    let view =
        |r: std::ops::Range<usize>| -> MatRef<'_, f64> { x.as_ref().subrows(r.start, r.len()) };
    a.update(
        &basis,
        0,
        LayerFeatures::F64(view(0..50)),
        &y[..50],
        w.as_ref(),
        Some(&bias),
    )
    .unwrap();
    b.update(
        &basis,
        1,
        LayerFeatures::F64(view(50..110)),
        &y[50..],
        w.as_ref(),
        Some(&bias),
    )
    .unwrap();
    a.merge(&b);
    let got = classifier_collapse(&basis, w.as_ref(), &a).unwrap();
    assert_rel(got.nc3, want.nc3, 1e-12, "NC3");
    assert_eq!(
        (got.nc4, got.classifier_accuracy, got.ncc_accuracy),
        (want.nc4, want.classifier_accuracy, want.ncc_accuracy)
    );
    // Too few samples counted, a wrong classifier shape.
    let mut short = CentreAgreement::default();
    short
        .update(
            &basis,
            0,
            LayerFeatures::F32(x32.as_ref().subrows(0, 10)),
            &y[..10],
            w.as_ref(),
            None,
        )
        .unwrap();
    assert!(matches!(
        classifier_collapse(&basis, w.as_ref(), &short),
        Err(GeometryError::IncompatibleMerge { .. })
    ));
    let narrow = Mat::<f64>::zeros(k, p - 1);
    assert!(matches!(
        classifier_collapse(&basis, narrow.as_ref(), &a),
        Err(GeometryError::ShapeMismatch { .. })
    ));
}
