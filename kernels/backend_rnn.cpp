// Checked public methods of the recurrent-cell ops (GRU and leaky-RNN steps, the relevance trace):
// shapes, null pointers and residency are validated here, once.
#include <initializer_list>
#include <utility>

#include "kernels/backend.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

void check_view(ConstDenseView v, int64_t rows, int64_t cols, const char* op, const char* arg) {
  NEUROAI_CHECK(v.rows == rows && v.cols == cols, "{}: {} is {}x{} (expected {}x{})", op, arg, v.rows, v.cols, rows,
                cols);
  NEUROAI_CHECK(v.size() == 0 || v.data != nullptr, "{}: {} is {}x{} but its data is null", op, arg, v.rows, v.cols);
}

// h_prev fixes (B, H); every other argument is checked against it.
void check_batch_hidden(ConstDenseView h_prev, const char* op) {
  NEUROAI_CHECK(h_prev.rows >= 0 && h_prev.cols >= 0, "{}: h_prev has negative shape {}x{}", op, h_prev.rows,
                h_prev.cols);
}

}  // namespace

void Backend::gru_step_forward(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev, const float* gate_m,
                               DenseView h_out, DenseView saved) {
  const char* op = "gru_step_forward";
  check_batch_hidden(h_prev, op);
  const int64_t b = h_prev.rows, h = h_prev.cols;
  check_view(h_prev, b, h, op, "h_prev");
  check_view(gi, b, 3 * h, op, "gi");
  check_view(gh, b, 3 * h, op, "gh");
  check_view(h_out, b, h, op, "h_out");
  check_view(saved, b, 4 * h, op, "saved");
  NEUROAI_CHECK(h_out.data != h_prev.data || h_out.size() == 0, "{}: h_out must not alias h_prev", op);
  for (auto [p, name] : {std::pair<const void*, const char*>{gi.data, "gi"}, {gh.data, "gh"}, {h_prev.data, "h_prev"},
                         {gate_m, "gate_m"}, {h_out.data, "h_out"}, {saved.data, "saved"}})
    check_resident(p, op, name);
  if (h_out.size() == 0) return;
  gru_step_forward_impl(gi, gh, h_prev, gate_m, h_out, saved);
}

void Backend::gru_step_backward(ConstDenseView dh_out, ConstDenseView h_prev, ConstDenseView saved,
                                const float* gate_m, DenseView dgi, DenseView dgh, DenseView dh_prev) {
  const char* op = "gru_step_backward";
  check_batch_hidden(h_prev, op);
  const int64_t b = h_prev.rows, h = h_prev.cols;
  check_view(dh_out, b, h, op, "dh_out");
  check_view(saved, b, 4 * h, op, "saved");
  check_view(dgi, b, 3 * h, op, "dgi");
  check_view(dgh, b, 3 * h, op, "dgh");
  check_view(dh_prev, b, h, op, "dh_prev");
  NEUROAI_CHECK(dh_prev.data != dh_out.data || dh_prev.size() == 0, "{}: dh_prev must not alias dh_out", op);
  for (auto [p, name] : {std::pair<const void*, const char*>{dh_out.data, "dh_out"}, {h_prev.data, "h_prev"},
                         {saved.data, "saved"}, {gate_m, "gate_m"}, {dgi.data, "dgi"}, {dgh.data, "dgh"},
                         {dh_prev.data, "dh_prev"}})
    check_resident(p, op, name);
  if (dh_prev.size() == 0) return;
  gru_step_backward_impl(dh_out, h_prev, saved, gate_m, dgi, dgh, dh_prev);
}

void Backend::rnn_step_forward(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev, const float* alpha,
                               const float* gate_m, DenseView h_out, DenseView saved) {
  const char* op = "rnn_step_forward";
  check_batch_hidden(h_prev, op);
  const int64_t b = h_prev.rows, h = h_prev.cols;
  check_view(gi, b, h, op, "gi");
  check_view(gh, b, h, op, "gh");
  check_view(h_out, b, h, op, "h_out");
  check_view(saved, b, h, op, "saved");
  NEUROAI_CHECK(h_out.data != h_prev.data || h_out.size() == 0, "{}: h_out must not alias h_prev", op);
  for (auto [p, name] : {std::pair<const void*, const char*>{gi.data, "gi"}, {gh.data, "gh"}, {h_prev.data, "h_prev"},
                         {alpha, "alpha"}, {gate_m, "gate_m"}, {h_out.data, "h_out"}, {saved.data, "saved"}})
    check_resident(p, op, name);
  if (h_out.size() == 0) return;
  rnn_step_forward_impl(gi, gh, h_prev, alpha, gate_m, h_out, saved);
}

void Backend::rnn_step_backward(ConstDenseView dh_out, ConstDenseView saved, const float* alpha,
                                const float* gate_m, DenseView dpre, DenseView dh_prev) {
  const char* op = "rnn_step_backward";
  check_batch_hidden(saved, op);
  const int64_t b = saved.rows, h = saved.cols;
  check_view(dh_out, b, h, op, "dh_out");
  check_view(dpre, b, h, op, "dpre");
  check_view(dh_prev, b, h, op, "dh_prev");
  NEUROAI_CHECK(dh_prev.data != dh_out.data || dh_prev.size() == 0, "{}: dh_prev must not alias dh_out", op);
  for (auto [p, name] : {std::pair<const void*, const char*>{dh_out.data, "dh_out"}, {saved.data, "saved"},
                         {alpha, "alpha"}, {gate_m, "gate_m"}, {dpre.data, "dpre"}, {dh_prev.data, "dh_prev"}})
    check_resident(p, op, name);
  if (dh_prev.size() == 0) return;
  rnn_step_backward_impl(dh_out, saved, alpha, gate_m, dpre, dh_prev);
}

void Backend::sq_trace_update(ConstDenseView x, float beta, float* trace) {
  const char* op = "sq_trace_update";
  NEUROAI_CHECK(x.rows >= 0 && x.cols >= 0, "{}: x has negative shape {}x{}", op, x.rows, x.cols);
  NEUROAI_CHECK(x.size() == 0 || x.data != nullptr, "{}: x is {}x{} but its data is null", op, x.rows, x.cols);
  NEUROAI_CHECK(x.cols == 0 || trace != nullptr, "{}: trace is null but {} entries are needed", op, x.cols);
  NEUROAI_CHECK(beta >= 0.0f && beta <= 1.0f, "{}: beta is {} (expected 0 <= beta <= 1)", op, beta);
  check_resident(x.data, op, "x");
  check_resident(trace, op, "trace");
  if (x.rows == 0 || x.cols == 0) return;
  sq_trace_update_impl(x, beta, trace);
}

}  // namespace neuroai
