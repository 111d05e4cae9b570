//! The SDP relaxation reduced by permutation symmetry inside groups of identical classes.
//!
//! If the classes split into groups $g$ of $m_g$ classes sharing $(n_k, c_k)$ (e.g. step
//! imbalance: $K_A$ classes with $n_A$, $K_B$ with $n_B$), the objective and constraints of the
//! $2K\times2K$ SDP (see [`crate::general_sdp`]) are invariant under simultaneous permutations of
//! $h$ and $w$ inside each group, and averaging over that group keeps a solution optimal. So we
//! may take $X$ invariant: inside group $g$ each of the blocks $HH$, $WW$, $HW$ is
//! $\alpha I + \beta(\mathbf 1\mathbf 1^\top - I)$ (6 numbers: `hh_d, hh_o, ww_d, ww_o,
//! hw_d, hw_o`), and between groups $g \ne g'$ the blocks are constant ($h_g\cdot h_{g'}$,
//! $w_g\cdot w_{g'}$, $h_g\cdot w_{g'}$, $h_{g'}\cdot w_g$).
//!
//! Such an $X$ is PSD iff
//! * the $2G\times 2G$ "group mean" matrix $M$ is PSD, where on $\mathbf 1_g/\sqrt{m_g}$:
//!   $M_{(\tau g),(\tau g)} = \alpha + (m_g-1)\beta$ and $M_{(\tau g),(\tau' g')} =
//!   \sqrt{m_g m_{g'}}\,c$ for a constant cross block $c$ ($\tau \in \{h, w\}$);
//! * for every group with $m_g \ge 2$ the $2\times2$ "within-group difference" block
//!   $D_g = \begin{pmatrix} hh_d-hh_o & hw_d-hw_o\\ hw_d-hw_o & ww_d-ww_o\end{pmatrix}$ is PSD
//!   (it is the restriction to sum-zero vectors, multiplicity $m_g - 1$).
//!
//! The loss of class $k$ in group $g$ only depends on $hw_d$, $hw_o$ and the cross logits:
//! $\mathrm{CE}_g = \log\big(1 + (m_g-1)e^{hw_o-hw_d} + \sum_{g'\ne g} m_{g'}
//! e^{hw_{gg'}-hw_d}\big)$. The problem size is independent of $K$.

use clarabel::solver::SupportedConeT::{
    ExponentialConeT, NonnegativeConeT, PSDTriangleConeT, ZeroConeT,
};

use crate::conic::{Affine, ConicProgram};
use crate::general_sdp::GramSolve;
use crate::LpmProblem;

const HH_D: usize = 0;
const HH_O: usize = 1;
const WW_D: usize = 2;
const WW_O: usize = 3;
const HW_D: usize = 4;
const HW_O: usize = 5;

/// Variable layout of the reduced program.
struct Layout {
    groups: usize,
    within: usize,
    cross_hw: usize,
    cross_hh: usize,
    cross_ww: usize,
}

impl Layout {
    fn within(&self, g: usize, what: usize) -> usize {
        self.within + 6 * g + what
    }
    /// $h_g \cdot w_{g'}$ for $g \ne g'$.
    fn hw(&self, g: usize, gp: usize) -> usize {
        self.cross_hw + g * self.groups + gp
    }
    fn pair(&self, g: usize, gp: usize) -> usize {
        let (a, b) = if g < gp { (g, gp) } else { (gp, g) };
        a * self.groups + b
    }
    fn hh(&self, g: usize, gp: usize) -> usize {
        self.cross_hh + self.pair(g, gp)
    }
    fn ww(&self, g: usize, gp: usize) -> usize {
        self.cross_ww + self.pair(g, gp)
    }
}

/// Solves the symmetry-reduced SDP and expands the solution to the full $2K\times2K$ Gram.
pub fn solve_symmetric_sdp(problem: &LpmProblem, tolerance: f64, max_iter: u32) -> GramSolve {
    let k = problem.num_classes();
    let groups = problem.groups();
    let ng = groups.len();
    let total: f64 = problem.counts().iter().sum();
    let sizes: Vec<f64> = groups.iter().map(|g| g.classes.len() as f64).collect();
    let mut prog = ConicProgram::default();
    let within = prog.add_variables(6 * ng);
    let cross_hw = prog.add_variables(ng * ng);
    let cross_hh = prog.add_variables(ng * ng);
    let cross_ww = prog.add_variables(ng * ng);
    let lay = Layout {
        groups: ng,
        within,
        cross_hw,
        cross_hh,
        cross_ww,
    };
    let t0 = prog.add_variables(ng);
    // u variables per group: [self, same group, other groups g' (indexed by g')].
    let u0 = prog.add_variables(ng * (ng + 1));
    let u_self = |g: usize| u0 + g * (ng + 1);
    let u_same = |g: usize| u0 + g * (ng + 1) + 1 + g;
    let u_other = |g: usize, gp: usize| u0 + g * (ng + 1) + 1 + gp;
    for (g, grp) in groups.iter().enumerate() {
        prog.add_objective(t0 + g, sizes[g] * grp.count * grp.loss_weight / total);
    }
    // Unused variables (cross terms of a group with itself, off-diagonals of singleton groups)
    // are pinned to zero.
    let mut zero = Vec::new();
    for (g, &size) in sizes.iter().enumerate() {
        for base in [cross_hw, cross_hh, cross_ww] {
            zero.push(Affine::terms(vec![(base + g * ng + g, 1.0)]));
        }
        for gp in 0..g {
            for base in [cross_hh, cross_ww] {
                zero.push(Affine::terms(vec![(base + g * ng + gp, 1.0)]));
            }
        }
        if size < 2.0 {
            for what in [HH_O, WW_O, HW_O] {
                zero.push(Affine::terms(vec![(lay.within(g, what), 1.0)]));
            }
        }
    }
    prog.add_cone(ZeroConeT(zero.len()), zero);
    let budget = |what: usize, e: f64| {
        Affine::terms((0..ng).map(|g| (lay.within(g, what), -sizes[g])).collect())
            .with_constant(k as f64 * e)
    };
    let mut nonneg = vec![budget(HH_D, problem.e_h()), budget(WW_D, problem.e_w())];
    for g in 0..ng {
        let mut terms = vec![(u_self(g), -1.0)];
        if sizes[g] >= 2.0 {
            terms.push((u_same(g), -(sizes[g] - 1.0)));
        }
        for gp in (0..ng).filter(|&gp| gp != g) {
            terms.push((u_other(g, gp), -sizes[gp]));
        }
        nonneg.push(Affine::terms(terms).with_constant(1.0));
    }
    prog.add_cone(NonnegativeConeT(nonneg.len()), nonneg);
    let exp_cone = |prog: &mut ConicProgram, logit: Option<usize>, g: usize, u: usize| {
        let mut arg = vec![(t0 + g, -1.0)];
        if let Some(z) = logit {
            arg.push((z, 1.0));
            arg.push((lay.within(g, HW_D), -1.0));
        }
        let rows = vec![
            Affine::terms(arg),
            Affine::constant(1.0),
            Affine::terms(vec![(u, 1.0)]),
        ];
        prog.add_cone(ExponentialConeT(), rows);
    };
    for (g, &size) in sizes.iter().enumerate() {
        exp_cone(&mut prog, None, g, u_self(g));
        if size >= 2.0 {
            exp_cone(&mut prog, Some(lay.within(g, HW_O)), g, u_same(g));
        } else {
            // u_same is unused for a singleton group.
            prog.add_cone(ZeroConeT(1), vec![Affine::terms(vec![(u_same(g), 1.0)])]);
        }
        for gp in (0..ng).filter(|&gp| gp != g) {
            exp_cone(&mut prog, Some(lay.hw(g, gp)), g, u_other(g, gp));
        }
    }
    // Group-mean block M (rows 0..G: h of group g, rows G..2G: w of group g).
    let sqrt2 = std::f64::consts::SQRT_2;
    let m_entry = |r: usize, c: usize| -> Vec<(usize, f64)> {
        let (tr, gr) = (r / ng, r % ng);
        let (tc, gc) = (c / ng, c % ng);
        if gr == gc {
            let m = sizes[gr] - 1.0;
            let (d, o) = match (tr, tc) {
                (0, 0) => (HH_D, HH_O),
                (1, 1) => (WW_D, WW_O),
                _ => (HW_D, HW_O),
            };
            vec![(lay.within(gr, d), 1.0), (lay.within(gr, o), m)]
        } else {
            let s = (sizes[gr] * sizes[gc]).sqrt();
            let var = match (tr, tc) {
                (0, 0) => lay.hh(gr, gc),
                (1, 1) => lay.ww(gr, gc),
                (0, 1) => lay.hw(gr, gc),
                _ => lay.hw(gc, gr),
            };
            vec![(var, s)]
        }
    };
    let mut psd = Vec::new();
    for c in 0..2 * ng {
        for r in 0..=c {
            let scale = if r == c { 1.0 } else { sqrt2 };
            let terms = m_entry(r, c).into_iter().map(|(v, a)| (v, a * scale));
            psd.push(Affine::terms(terms.collect()));
        }
    }
    prog.add_cone(PSDTriangleConeT(2 * ng), psd);
    for g in (0..ng).filter(|&g| sizes[g] >= 2.0) {
        let diff = |d: usize, o: usize, s: f64| {
            Affine::terms(vec![(lay.within(g, d), s), (lay.within(g, o), -s)])
        };
        let rows = vec![
            diff(HH_D, HH_O, 1.0),
            diff(HW_D, HW_O, sqrt2),
            diff(WW_D, WW_O, 1.0),
        ];
        prog.add_cone(PSDTriangleConeT(2), rows);
    }
    let result = prog.solve(tolerance, max_iter);
    let x = &result.x;
    let mut group_of = vec![0; k];
    for (g, grp) in groups.iter().enumerate() {
        for &c in &grp.classes {
            group_of[c] = g;
        }
    }
    let n = 2 * k;
    let mut gram = vec![0.0; n * n];
    for i in 0..k {
        let gi = group_of[i];
        for j in 0..k {
            let gj = group_of[j];
            let (hh, ww, hw) = if i == j {
                (HH_D, WW_D, HW_D)
            } else {
                (HH_O, WW_O, HW_O)
            };
            let (vhh, vww, vhw) = if gi == gj {
                (
                    x[lay.within(gi, hh)],
                    x[lay.within(gi, ww)],
                    x[lay.within(gi, hw)],
                )
            } else {
                (x[lay.hh(gi, gj)], x[lay.ww(gi, gj)], x[lay.hw(gi, gj)])
            };
            gram[i * n + j] = vhh;
            gram[(k + i) * n + k + j] = vww;
            // X[h_i, w_j] and its transpose X[w_j, h_i].
            gram[i * n + k + j] = vhw;
            gram[(k + j) * n + i] = vhw;
        }
    }
    GramSolve {
        status: result.status,
        gram,
        iterations: result.iterations,
    }
}
