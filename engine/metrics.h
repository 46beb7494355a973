// Host-side activity metrics (SPEC §10, §3.2, §3.3) on activations H: (n samples, d units), row-major,
// fp32, on the host. Accumulation is in double. Each function requires n >= 1 and d >= 1.
#pragma once

#include <cstdint>

namespace neuroai {

// PR = (tr C)^2 / tr(C^2) with C the covariance of the batch-centered H; through the n x n Gram
// H~ H~^T when n < d, else the d x d H~^T H~. 1 <= PR <= min(d, n - 1); 0 when H has no variance.
double participation_ratio(const float* h, int64_t n, int64_t d);

// The covariance spectrum's dimensionality measures (SPEC §10), from the eigenvalues lambda_k of the
// covariance of the batch-centered H (LAPACK, on the smaller of the d x d and n x n Grams): PR as above,
// n90 = smallest k whose k largest eigenvalues hold >= 90% of the variance, effective rank
// exp(-sum p_k log p_k) with p_k = sigma_k / sum sigma (sigma_k = sqrt(lambda_k), Roy & Vetterli 2007).
// All 0 when H has no variance.
struct Dimensionality {
  double participation_ratio = 0.0;
  int64_t n90 = 0;
  double effective_rank = 0.0;
};
Dimensionality dimensionality(const float* h, int64_t n, int64_t d);

// The covariance of the batch-centered H split by class (beside SPEC §10's measures): C = C_b + C_w with
// C_b = sum_c w_c (mu_c - mu)(mu_c - mu)^T (w_c = n_c / n, mu_c the class means) and C_w the pooled
// within-class covariance. between_share = tr C_b / tr C; pr_between and pr_within are the participation
// ratios of the two parts (pr_between <= classes - 1). A classifier's last hidden layer holds most of its
// variance between the classes, so its PR is largely set by how evenly it uses those few directions; the
// split says which part a penalty moved. labels: n values in [0, classes). A part without variance gets
// PR 0; all 0 when H has no variance.
struct ClassSplit {
  double between_share = 0.0, pr_between = 0.0, pr_within = 0.0;
};
ClassSplit class_covariance_split(const float* h, const int32_t* labels, int64_t n, int64_t d, int classes);

// TwoNN intrinsic dimension (Facco et al. 2017): duplicate points dropped (a ReLU layer maps many
// samples to the same code), mu_i = r2_i / r1_i (second / first neighbour distance), mu sorted
// ascending, x_k = log mu_(k), y_k = -log(1 - k / N), slope through the origin over k <= 0.9 N.
// 0 when fewer than 3 distinct points remain. O(n^2 d): meant for a few thousand samples.
double twonn_dimension(const float* h, int64_t n, int64_t d);

// Fraction of entries with |h| < eps.
double activation_sparsity(const float* h, int64_t n, int64_t d, float eps = 1e-6f);

// Hoyer (2004) (sqrt(d) - |h|_1 / |h|_2) / (sqrt(d) - 1), mean over samples; an all-zero sample counts
// as 1 (maximally sparse). 0 when d = 1.
double hoyer_sparsity(const float* h, int64_t n, int64_t d);

// Treves-Rolls population sparseness [1 - (sum h / d)^2 / (sum h^2 / d)] / (1 - 1/d) (Vinje & Gallant
// 2000), mean over samples; an all-zero sample counts as 1. 0 when d = 1.
double treves_rolls(const float* h, int64_t n, int64_t d);

// Mean Pearson correlation (over samples) between each unit and its 4-neighbours on a rows x cols sheet
// (d = rows * cols, unit i at (i / cols, i % cols), no wrap-around); each neighbour pair counted once.
// Pairs with a constant (e.g. dead) unit are left out; 0 when no pair remains.
double neighbour_correlation(const float* h, int64_t n, int64_t rows, int64_t cols);

// rho_sp = Corr(lowtri r_ij, lowtri 1/(1 + d_ij)) over all unit pairs of the sheet, or over the pairs of a
// seeded sample of max_units units when d > max_units (max_units <= 0: all units). r_ij = Pearson
// correlation over samples, d_ij = Euclidean grid distance. Constant units are left out; 0 when fewer
// than 3 units remain or either side has no variance.
double spatial_correlation(const float* h, int64_t n, int64_t rows, int64_t cols, int64_t max_units = 256,
                           uint64_t seed = 0);

// SAUCIE exp(H) of neuron usage (§3.2): u_i = sum_b |h_bi| (= sum_b h_bi for the non-negative codes it is
// meant for), p_i = u_i / sum u, H = -sum p_i log(p_i + 1e-9). Between 1 and d; 0 when all h are 0.
double effective_usage(const float* h, int64_t n, int64_t d);

}  // namespace neuroai
