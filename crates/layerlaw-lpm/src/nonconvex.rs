//! Nonconvex solver working on the factors $W, H \in \mathbb R^{K\times p}$ directly.
//!
//! Minimises $f(W,H) = \sum_k a_k\,\mathrm{CE}(W h_k, k)$ (class-mean features $h_k$, by
//! Jensen the within-class features can be taken equal) over the product of the two balls
//! $\|H\|_F^2 \le K E_H$, $\|W\|_F^2 \le K E_W$ with FISTA (Beck & Teboulle 2009): backtracking
//! on the Lipschitz constant, projection by rescaling, and gradient-based adaptive restart
//! (O'Donoghue & Candès 2015). With $Z = H W^\top$ and $G = \mathrm{diag}(a)(\mathrm{softmax}(Z) -
//! I)$ the gradients are $\nabla_H f = G W$ and $\nabla_W f = G^\top H$. Several seeded Gaussian
//! starts are run and the lowest objective is returned. For $p \ge 2K$ the global optimum equals
//! the SDP optimum; this is an independent cross-check and scales to large $K$.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr_normal::standard_normal;

use crate::general_sdp::GramSolve;
use crate::{LpmProblem, SolveStatus};

/// Minimal Box–Muller standard normal sampler (avoids another dependency).
mod rand_distr_normal {
    use rand::Rng;

    /// One $\mathcal N(0,1)$ draw.
    pub fn standard_normal(rng: &mut impl Rng) -> f64 {
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Loss $\sum_k a_k(\log\sum_j e^{z_{kj}} - z_{kk})$ of the logits `z` (row-major $K\times K$).
pub fn weighted_cross_entropy(z: &Mat<f64>, coef: &[f64]) -> f64 {
    let k = coef.len();
    (0..k)
        .map(|r| {
            let max = (0..k).map(|j| z[(r, j)]).fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = (0..k).map(|j| (z[(r, j)] - max).exp()).sum();
            coef[r] * (max + sum.ln() - z[(r, r)])
        })
        .sum()
}

struct Workspace {
    z: Mat<f64>,
    g: Mat<f64>,
}

impl Workspace {
    /// Objective at $(W, H)$; fills `z` with the logits.
    fn value(&mut self, w: &Mat<f64>, h: &Mat<f64>, coef: &[f64]) -> f64 {
        matmul(
            self.z.as_mut(),
            Accum::Replace,
            h.as_ref(),
            w.transpose(),
            1.0,
            Par::Seq,
        );
        weighted_cross_entropy(&self.z, coef)
    }

    /// Objective and gradients at $(W, H)$.
    fn gradient(&mut self, w: &Mat<f64>, h: &Mat<f64>, coef: &[f64]) -> (f64, Mat<f64>, Mat<f64>) {
        let f = self.value(w, h, coef);
        let k = coef.len();
        for (r, &a) in coef.iter().enumerate() {
            let max = (0..k)
                .map(|j| self.z[(r, j)])
                .fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = (0..k).map(|j| (self.z[(r, j)] - max).exp()).sum();
            for j in 0..k {
                let p = (self.z[(r, j)] - max).exp() / sum;
                self.g[(r, j)] = a * (p - if r == j { 1.0 } else { 0.0 });
            }
        }
        let mut gh = Mat::zeros(h.nrows(), h.ncols());
        let mut gw = Mat::zeros(w.nrows(), w.ncols());
        matmul(
            gh.as_mut(),
            Accum::Replace,
            self.g.as_ref(),
            w.as_ref(),
            1.0,
            Par::Seq,
        );
        matmul(
            gw.as_mut(),
            Accum::Replace,
            self.g.transpose(),
            h.as_ref(),
            1.0,
            Par::Seq,
        );
        (f, gw, gh)
    }
}

fn project(m: &mut Mat<f64>, radius_sq: f64) {
    let norm_sq = m.squared_norm_l2();
    if norm_sq > radius_sq {
        let s = (radius_sq / norm_sq).sqrt();
        *m = &*m * faer::Scale(s);
    }
}

fn inner(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += a[(i, j)] * b[(i, j)];
        }
    }
    s
}

/// Result of one start.
struct Run {
    value: f64,
    w: Mat<f64>,
    h: Mat<f64>,
    converged: bool,
    iterations: usize,
}

fn run_fista(
    mut w: Mat<f64>,
    mut h: Mat<f64>,
    problem: &LpmProblem,
    tolerance: f64,
    max_iter: usize,
) -> Run {
    let k = problem.num_classes();
    let coef = problem.coefficients();
    let (rw, rh) = (k as f64 * problem.e_w(), k as f64 * problem.e_h());
    project(&mut w, rw);
    project(&mut h, rh);
    let mut ws = Workspace {
        z: Mat::zeros(k, k),
        g: Mat::zeros(k, k),
    };
    let scale = (rw + rh).sqrt();
    let (mut yw, mut yh) = (w.clone(), h.clone());
    let mut fx = ws.value(&w, &h, &coef);
    let mut t = 1.0_f64;
    let mut lip = 1.0_f64;
    let mut calm = 0;
    for it in 0..max_iter {
        let (fy, gw, gh) = ws.gradient(&yw, &yh, &coef);
        let (mut nw, mut nh, mut fn_);
        loop {
            nw = &yw - &gw * faer::Scale(1.0 / lip);
            nh = &yh - &gh * faer::Scale(1.0 / lip);
            project(&mut nw, rw);
            project(&mut nh, rh);
            fn_ = ws.value(&nw, &nh, &coef);
            let (dw, dh) = (&nw - &yw, &nh - &yh);
            let lin = inner(&gw, &dw) + inner(&gh, &dh);
            let quad = dw.squared_norm_l2() + dh.squared_norm_l2();
            if fn_ <= fy + lin + 0.5 * lip * quad + 1e-15 * fy.abs() || lip > 1e12 {
                break;
            }
            lip *= 2.0;
        }
        let step = ((&nw - &w).squared_norm_l2() + (&nh - &h).squared_norm_l2()).sqrt();
        // Gradient-based restart: momentum pointing against the step.
        let restart = inner(&(&yw - &nw), &(&nw - &w)) + inner(&(&yh - &nh), &(&nh - &h)) > 0.0;
        let t_next = if restart {
            1.0
        } else {
            0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt())
        };
        let beta = if restart { 0.0 } else { (t - 1.0) / t_next };
        yw = &nw + (&nw - &w) * faer::Scale(beta);
        yh = &nh + (&nh - &h) * faer::Scale(beta);
        let improvement = (fx - fn_).abs();
        w = nw;
        h = nh;
        fx = fn_;
        t = t_next;
        lip *= 0.95;
        if step <= tolerance * scale && improvement <= tolerance * fx.abs().max(1e-12) {
            calm += 1;
            if calm >= 10 {
                return Run {
                    value: fx,
                    w,
                    h,
                    converged: true,
                    iterations: it + 1,
                };
            }
        } else {
            calm = 0;
        }
    }
    Run {
        value: fx,
        w,
        h,
        converged: false,
        iterations: max_iter,
    }
}

/// Runs `restarts` seeded starts in dimension `dim` and returns the Gram of the best factors.
/// `tolerance` is the relative step size (and relative objective change) at which a start stops.
pub fn solve_nonconvex(
    problem: &LpmProblem,
    dim: usize,
    restarts: usize,
    seed: u64,
    tolerance: f64,
    max_iter: usize,
) -> GramSolve {
    let k = problem.num_classes();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut best: Option<Run> = None;
    let mut iterations = 0;
    for _ in 0..restarts.max(1) {
        let mut draw = || Mat::from_fn(k, dim, |_, _| standard_normal(&mut rng));
        let (w, h) = (draw(), draw());
        let run = run_fista(w, h, problem, tolerance, max_iter);
        iterations += run.iterations;
        if best.as_ref().is_none_or(|b| run.value < b.value) {
            best = Some(run);
        }
    }
    let Some(best) = best else {
        return GramSolve {
            status: SolveStatus::Unsolved,
            gram: Vec::new(),
            iterations: 0,
        };
    };
    let n = 2 * k;
    let row = |i: usize| {
        if i < k {
            best.h.row(i)
        } else {
            best.w.row(i - k)
        }
    };
    let mut gram = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            gram[i * n + j] = row(i) * row(j).transpose();
        }
    }
    GramSolve {
        status: if best.converged {
            SolveStatus::Solved
        } else {
            SolveStatus::MaxIterations
        },
        gram,
        iterations: u32::try_from(iterations).unwrap_or(u32::MAX),
    }
}
