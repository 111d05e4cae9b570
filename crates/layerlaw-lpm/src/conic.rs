//! A small builder for Clarabel conic programs, $\min q^\top x$ s.t. $s = b - Ax \in \mathcal K$.
//!
//! Rows are written as affine expressions $s_i = \text{const} + \sum_j a_{ij} x_j$ (so
//! $A = -a$, $b = \text{const}$). Cone conventions of Clarabel 0.11.1 (checked in its sources):
//! * exponential cone: $(x, y, z)$ with $y\,e^{x/y} \le z$, $y > 0$;
//! * PSD triangle cone of order $n$: the upper triangle of a symmetric matrix, column by column
//!   ($(0,0), (0,1), (1,1), (0,2), \dots$), off-diagonal entries scaled by $\sqrt 2$.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};

use crate::SolveStatus;

/// An affine expression $\text{const} + \sum_j a_j x_j$ over the program's variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Affine {
    pub terms: Vec<(usize, f64)>,
    pub constant: f64,
}

impl Affine {
    pub fn constant(value: f64) -> Self {
        Self {
            terms: Vec::new(),
            constant: value,
        }
    }

    pub fn terms(terms: Vec<(usize, f64)>) -> Self {
        Self {
            terms,
            constant: 0.0,
        }
    }

    pub fn with_constant(mut self, value: f64) -> Self {
        self.constant = value;
        self
    }
}

/// Position of entry $(i, j)$, $i \le j$, in Clarabel's column-major upper triangle.
pub(crate) fn triangle_index(i: usize, j: usize) -> usize {
    let (i, j) = if i <= j { (i, j) } else { (j, i) };
    j * (j + 1) / 2 + i
}

/// Accumulates variables, a linear objective and conic rows.
#[derive(Debug, Default)]
pub(crate) struct ConicProgram {
    objective: Vec<f64>,
    rows: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
    rhs: Vec<f64>,
    cones: Vec<SupportedConeT<f64>>,
}

/// Outcome of a Clarabel solve.
#[derive(Debug, Clone)]
pub(crate) struct ConicResult {
    pub status: SolveStatus,
    pub x: Vec<f64>,
    pub iterations: u32,
}

impl ConicProgram {
    /// Adds `count` free variables and returns the index of the first.
    pub fn add_variables(&mut self, count: usize) -> usize {
        let first = self.objective.len();
        self.objective.resize(first + count, 0.0);
        first
    }

    /// Adds `coef` to the objective coefficient of variable `var`.
    pub fn add_objective(&mut self, var: usize, coef: f64) {
        self.objective[var] += coef;
    }

    /// Appends one cone whose slack rows are the given affine expressions.
    pub fn add_cone(&mut self, cone: SupportedConeT<f64>, exprs: Vec<Affine>) {
        for expr in exprs {
            let row = self.rhs.len();
            for (var, coef) in expr.terms {
                self.rows.push(row);
                self.cols.push(var);
                self.vals.push(-coef);
            }
            self.rhs.push(expr.constant);
        }
        self.cones.push(cone);
    }

    /// Solves with Clarabel (`direct_solve_method = "faer"`), gap and feasibility tolerances
    /// `tolerance`, at most `max_iter` iterations.
    pub fn solve(self, tolerance: f64, max_iter: u32) -> ConicResult {
        let n = self.objective.len();
        let m = self.rhs.len();
        let a = CscMatrix::new_from_triplets(m, n, self.rows, self.cols, self.vals);
        let p = CscMatrix::zeros((n, n));
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .max_iter(max_iter)
            .tol_gap_abs(tolerance)
            .tol_gap_rel(tolerance)
            .tol_feas(tolerance)
            .direct_solve_method("faer".to_string())
            .build();
        let settings = match settings {
            Ok(s) => s,
            Err(_) => {
                return ConicResult {
                    status: SolveStatus::SetupError,
                    x: vec![f64::NAN; n],
                    iterations: 0,
                }
            }
        };
        match DefaultSolver::new(&p, &self.objective, &a, &self.rhs, &self.cones, settings) {
            Ok(mut solver) => {
                solver.solve();
                ConicResult {
                    status: SolveStatus::from(solver.solution.status),
                    x: solver.solution.x.clone(),
                    iterations: solver.solution.iterations,
                }
            }
            Err(_) => ConicResult {
                status: SolveStatus::SetupError,
                x: vec![f64::NAN; n],
                iterations: 0,
            },
        }
    }
}

impl From<SolverStatus> for SolveStatus {
    fn from(s: SolverStatus) -> Self {
        match s {
            SolverStatus::Unsolved => SolveStatus::Unsolved,
            SolverStatus::Solved => SolveStatus::Solved,
            SolverStatus::PrimalInfeasible => SolveStatus::PrimalInfeasible,
            SolverStatus::DualInfeasible => SolveStatus::DualInfeasible,
            SolverStatus::AlmostSolved => SolveStatus::AlmostSolved,
            SolverStatus::AlmostPrimalInfeasible => SolveStatus::AlmostPrimalInfeasible,
            SolverStatus::AlmostDualInfeasible => SolveStatus::AlmostDualInfeasible,
            SolverStatus::MaxIterations => SolveStatus::MaxIterations,
            SolverStatus::MaxTime => SolveStatus::MaxTime,
            SolverStatus::NumericalError => SolveStatus::NumericalError,
            SolverStatus::InsufficientProgress => SolveStatus::InsufficientProgress,
            SolverStatus::CallbackTerminated => SolveStatus::CallbackTerminated,
        }
    }
}
