#include "kernels/backend.h"

#include "kernels/error.h"

namespace neuroai {

void Backend::check_resident(const void* ptr, const char* op, const char* arg) const {
  NEUROAI_CHECK(ptr == nullptr || is_resident(ptr), "{}: argument '{}' does not live on the {} backend", op, arg,
                name());
}

void Backend::check_csr_arg(ConstCsrView a, const char* op, const char* arg) {
  NEUROAI_CHECK(a.rows >= 0 && a.cols >= 0 && a.nnz >= 0, "{}: CSR '{}' has negative shape {}x{} nnz {}", op, arg,
                a.rows, a.cols, a.nnz);
  NEUROAI_CHECK(a.nnz <= int64_t(a.rows) * a.cols, "{}: CSR '{}' has nnz {} > rows*cols = {}", op, arg, a.nnz,
                int64_t(a.rows) * a.cols);
  NEUROAI_CHECK(a.indptr != nullptr, "{}: CSR '{}' has no indptr", op, arg);
  NEUROAI_CHECK(a.nnz == 0 || a.indices != nullptr, "{}: CSR '{}' has nnz {} but no indices", op, arg, a.nnz);
  check_resident(a.indptr, op, arg);
  check_resident(a.indices, op, arg);
  check_resident(a.values, op, arg);
  if (validate_csr_) validate_csr_impl(a, arg);
}

void Backend::validate_csr(ConstCsrView a, const char* what) {
  validate_csr_impl(a, what);
}

}  // namespace neuroai
