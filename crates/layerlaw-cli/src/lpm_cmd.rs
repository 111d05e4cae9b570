//! `layerlaw lpm solve|sweep`: the Layer-Peeled Model (Fang, He, Long & Su, PNAS 2021) from the command line.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use layerlaw_lpm::{
    default_ratios, solve, sweep, LpmProblem, LpmSolution, Method, SolverOptions, Sweep,
};

use crate::error::CliError;
use crate::output::{fmt_num, fmt_opt, print_json, Table};
use crate::plot::{self, Chart, Mark, Series};
use crate::progress;

/// `layerlaw lpm` subcommands.
#[derive(Subcommand, Debug)]
pub enum LpmCommand {
    /// Solve one Layer-Peeled Model.
    Solve(SolveArgs),
    /// Sweep the imbalance ratio R and locate the onset of Minority Collapse.
    Sweep(SweepArgs),
}

/// The solver to use.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodArg {
    /// Symmetry-reduced SDP when classes share counts, else the full SDP (K ≤ 30), else nonconvex.
    Auto,
    /// The full 2K×2K SDP relaxation (Clarabel).
    General,
    /// The SDP reduced by within-group symmetry.
    Symmetric,
    /// Projected gradient on W and H (p = 2K, several seeded starts).
    Nonconvex,
}

impl MethodArg {
    fn method(self) -> Method {
        match self {
            MethodArg::Auto => Method::Auto,
            MethodArg::General => Method::GeneralSdp,
            MethodArg::Symmetric => Method::SymmetricSdp,
            MethodArg::Nonconvex => Method::nonconvex_default(),
        }
    }
}

/// The model's constants, shared by both subcommands.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Number of majority classes K_A.
    #[arg(long, default_value_t = 5)]
    pub majority: usize,
    /// Number of minority classes K_B.
    #[arg(long, default_value_t = 5)]
    pub minority: usize,
    /// Classifier energy E_W: (1/K) Σ_k ‖w_k‖² ≤ E_W.
    #[arg(long, default_value_t = 1.0)]
    pub ew: f64,
    /// Feature energy E_H: (1/K) Σ_k (1/n_k) Σ_i ‖h_ki‖² ≤ E_H.
    #[arg(long, default_value_t = 5.0)]
    pub eh: f64,
    /// Loss weight w_r of the minority classes (oversampling each minority example w_r times; w_r = R rebalances).
    #[arg(long, default_value_t = 1.0)]
    pub minority_weight: f64,
    /// Solver.
    #[arg(long, value_enum, default_value = "auto")]
    pub method: MethodArg,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `layerlaw lpm solve`.
#[derive(Args, Debug)]
pub struct SolveArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Imbalance ratio R = n_A / n_B ≥ 1.
    #[arg(long, default_value_t = 1.0)]
    pub ratio: f64,
    /// Arbitrary per-class counts n_1,…,n_K instead of --majority/--minority/--ratio.
    #[arg(long, value_delimiter = ',')]
    pub counts: Option<Vec<f64>>,
}

/// Arguments of `layerlaw lpm sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Smallest ratio.
    #[arg(long, default_value_t = 1.0)]
    pub ratio_min: f64,
    /// Largest ratio.
    #[arg(long, default_value_t = 10000.0)]
    pub ratio_max: f64,
    /// Number of log-spaced ratios (41 gives the paper's R = 10^{0.1 i}, i = 0..40).
    #[arg(long, default_value_t = 41)]
    pub points: usize,
    /// Plot minority cosine and norms against R (.svg or .png).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// Log-spaced ratios from `min` to `max` inclusive.
pub fn log_ratios(min: f64, max: f64, points: usize) -> Result<Vec<f64>, CliError> {
    if !(min.is_finite() && min >= 1.0) {
        return Err(CliError::usage(
            "ratio-min",
            format!("must be a finite number ≥ 1, got {min}"),
        ));
    }
    if !(max.is_finite() && max >= min) {
        return Err(CliError::usage(
            "ratio-max",
            format!("must be finite and ≥ --ratio-min, got {max}"),
        ));
    }
    if points == 0 {
        return Err(CliError::usage("points", "must be at least 1"));
    }
    if min == 1.0 && max == 10000.0 && points == 41 {
        return Ok(default_ratios());
    }
    if points == 1 {
        return Ok(vec![min]);
    }
    let (a, b) = (min.log10(), max.log10());
    Ok((0..points)
        .map(|i| 10f64.powf(a + (b - a) * i as f64 / (points - 1) as f64))
        .collect())
}

fn problem(args: &SolveArgs) -> Result<LpmProblem, CliError> {
    let m = &args.model;
    let builder = match &args.counts {
        Some(c) => LpmProblem::from_counts(c),
        None => LpmProblem::step_imbalance(m.majority, m.minority, args.ratio),
    };
    Ok(builder
        .e_w(m.ew)
        .e_h(m.eh)
        .minority_weight(m.minority_weight)
        .build()?)
}

fn print_solution(s: &LpmSolution) {
    println!(
        "status {:?}, method {:?}, objective {:.10}, rank {}",
        s.status, s.method, s.objective, s.rank
    );
    let mut t = Table::new(&["group", "mean cosine", "mean distance", "mean norm"]);
    t.row(vec![
        "minority".into(),
        fmt_opt(s.minority_cosine),
        fmt_opt(s.minority_distance),
        fmt_opt(s.minority_norm),
    ]);
    t.row(vec![
        "majority".into(),
        fmt_opt(s.majority_cosine),
        fmt_opt(s.majority_distance),
        fmt_opt(s.majority_norm),
    ]);
    print!("{}", t.render());
    println!(
        "distance of the classifier Gram from a simplex ETF: {}",
        fmt_opt(s.etf_distance)
    );
    for n in &s.notes {
        println!("note: {n}");
    }
}

/// The sweep's curves: minority and majority cosine and the norms against log10 R.
pub fn sweep_chart(s: &Sweep) -> Chart {
    let pts = |f: &dyn Fn(&layerlaw_lpm::SweepPoint) -> Option<f64>| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .filter_map(|p| f(p).map(|v| (p.ratio.log10(), v)))
            .collect()
    };
    Chart {
        title: format!(
            "Layer-Peeled Model: K_A = {}, K_B = {}, E_W = {}, E_H = {}",
            s.k_a, s.k_b, s.e_w, s.e_h
        ),
        x_label: "log10 R".into(),
        y_label: "cosine / norm".into(),
        series: vec![
            Series {
                name: "minority cosine".into(),
                points: pts(&|p| p.minority_cosine),
                mark: Mark::LinePoints,
            },
            Series {
                name: "majority cosine".into(),
                points: pts(&|p| p.majority_cosine),
                mark: Mark::LinePoints,
            },
            Series {
                name: "minority norm".into(),
                points: pts(&|p| p.minority_norm),
                mark: Mark::ThinLine,
            },
            Series {
                name: "majority norm".into(),
                points: pts(&|p| p.majority_norm),
                mark: Mark::ThinLine,
            },
        ],
        ..Chart::default()
    }
}

/// Runs `layerlaw lpm ...`.
pub fn run(cmd: &LpmCommand) -> Result<(), CliError> {
    match cmd {
        LpmCommand::Solve(args) => {
            let p = problem(args)?;
            let opts = SolverOptions::with_method(args.model.method.method());
            let s = solve(&p, &opts)?;
            if args.model.json {
                print_json(&s);
            } else {
                print_solution(&s);
            }
        }
        LpmCommand::Sweep(args) => {
            let m = &args.model;
            let ratios = log_ratios(args.ratio_min, args.ratio_max, args.points)?;
            let opts = SolverOptions::with_method(m.method.method());
            let bar = progress::bar(ratios.len() as u64, "sweep", m.json);
            let s = sweep(
                m.majority,
                m.minority,
                m.ew,
                m.eh,
                m.minority_weight,
                &ratios,
                &opts,
                |done, _| bar.set_position(done as u64),
            );
            bar.finish_and_clear();
            let s = s?;
            if let Some(path) = &args.plot {
                plot::render(&sweep_chart(&s), path)?;
            }
            if m.json {
                print_json(&s);
                return Ok(());
            }
            let mut t = Table::new(&[
                "R",
                "status",
                "objective",
                "min cos",
                "maj cos",
                "min dist",
                "min norm",
                "maj norm",
            ]);
            for p in &s.points {
                t.row(vec![
                    fmt_num(p.ratio),
                    format!("{:?}", p.status),
                    format!("{:.8}", p.objective),
                    fmt_opt(p.minority_cosine),
                    fmt_opt(p.majority_cosine),
                    fmt_opt(p.minority_distance),
                    fmt_opt(p.minority_norm),
                    fmt_opt(p.majority_norm),
                ]);
            }
            print!("{}", t.render());
            match s.collapse_ratio {
                Some(r) => println!(
                    "Minority Collapse from R* = {r:.4} (tolerance {})",
                    s.collapse_tolerance
                ),
                None => println!("no Minority Collapse in the swept range"),
            }
            for n in &s.notes {
                println!("note: {n}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_grid_is_the_papers() {
        let r = log_ratios(1.0, 10000.0, 41).unwrap();
        assert_eq!(r.len(), 41);
        assert!((r[10] - 10.0).abs() < 1e-9);
        let r = log_ratios(1.0, 100.0, 3).unwrap();
        assert!((r[1] - 10.0).abs() < 1e-12);
        assert!(log_ratios(0.5, 10.0, 3).is_err());
        assert!(log_ratios(10.0, 5.0, 3).is_err());
        assert!(log_ratios(1.0, 5.0, 0).is_err());
    }
}
