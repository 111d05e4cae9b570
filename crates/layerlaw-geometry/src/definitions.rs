//! The conventions every report states next to its numbers, shared by the CLI and the Python module.

use serde::Serialize;

/// Which convention each reported number uses (printed with every report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Definitions {
    /// What `fuzziness` is: He–Su's $D = \mathrm{Tr}(SS_w SS_b^+)$.
    pub fuzziness: &'static str,
    /// What `nc1` is: Papyan's $\mathrm{Tr}(\Sigma_W\Sigma_B^+)/K$.
    pub nc1: &'static str,
    /// How the law of equi-separation is fitted.
    pub law: &'static str,
}

/// The standard definitions.
pub const DEFINITIONS: Definitions = Definitions {
    fuzziness: "He & Su (PNAS 2023): D = Tr(SS_w SS_b^+), SS_b = (1/n) sum_k n_k (m_k - m)(m_k - m)^T, \
                SS_w = (1/n) sum_k sum_i (x_ki - m_k)(x_ki - m_k)^T",
    nc1: "Papyan, Han & Donoho (PNAS 2020): NC1 = Tr(Sigma_W Sigma_B^+)/K with Sigma_B over unweighted class means \
          centred at their mean; for balanced classes D = K * NC1",
    law: "least squares of ln D_l on l = 0..L; rho = exp(slope); pearson_r is r(l, ln D_l), close to -1 when the law holds",
};
