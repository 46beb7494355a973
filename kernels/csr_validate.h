// The structural check of a CSR matrix, shared by both backends so they report the same first
// violation: each violation is encoded as a 64-bit key and the smallest key wins. Keys order
// the checks as (indptr[0], indptr monotone by row, indptr[rows] == nnz, entries by position);
// within one entry "out of range" comes before "not increasing".
#pragma once

#include <cstdint>
#include <string>

#include "kernels/error.h"
#include "kernels/hd.h"

namespace neuroai {

enum class CsrViolation : uint64_t { IndptrStart = 0, IndptrDecreasing = 1, IndptrEnd = 2, Entry = 3 };
enum CsrEntryViolation : uint64_t { kIndexOutOfRange = 0, kIndexNotIncreasing = 1 };

constexpr uint64_t kCsrValid = ~uint64_t(0);

// pos < 2^31 (a row or an entry), sub in {0, 1}.
NEUROAI_HD uint64_t csr_violation_key(CsrViolation kind, int64_t pos, uint64_t sub) {
  return (uint64_t(kind) << 40) | (uint64_t(pos) << 1) | sub;
}

// The key of entry k of row r (start = indptr[r]) given its index and its left neighbour's.
NEUROAI_HD uint64_t csr_entry_key(int64_t k, int64_t start, int32_t index, int32_t prev_index, int32_t cols) {
  if (index < 0 || index >= cols) return csr_violation_key(CsrViolation::Entry, k, kIndexOutOfRange);
  if (k > start && index <= prev_index) return csr_violation_key(CsrViolation::Entry, k, kIndexNotIncreasing);
  return kCsrValid;
}

// Throws the Error for `key` (not kCsrValid). index_at(k) / indptr_at(r) read single elements for
// the message (host reads on CPU, small downloads on CUDA; only on this failure path).
template <class IndptrAt, class IndexAt>
[[noreturn]] void throw_csr_violation(uint64_t key, const char* what, int32_t rows, int32_t cols, int64_t nnz,
                                      IndptrAt indptr_at, IndexAt index_at) {
  auto kind = CsrViolation(key >> 40);
  int64_t pos = int64_t((key & ((uint64_t(1) << 40) - 1)) >> 1);
  uint64_t sub = key & 1;
  std::string head = detail::cat("invalid CSR '", what, "' (", rows, "x", cols, ", nnz ", nnz, "): ");
  switch (kind) {
    case CsrViolation::IndptrStart:
      NEUROAI_FAIL_CAT(head, "indptr[0] = ", indptr_at(0), ", expected 0");
    case CsrViolation::IndptrDecreasing:
      NEUROAI_FAIL_CAT(head, "indptr is not monotone: indptr[", pos + 1, "] = ", indptr_at(pos + 1), " < indptr[",
                       pos, "] = ", indptr_at(pos));
    case CsrViolation::IndptrEnd:
      NEUROAI_FAIL_CAT(head, "indptr[", rows, "] = ", indptr_at(rows), ", expected nnz = ", nnz);
    case CsrViolation::Entry:
      break;
  }
  if (sub == kIndexOutOfRange)
    NEUROAI_FAIL_CAT(head, "column index ", index_at(pos), " of entry ", pos, " is out of range [0, ", cols, ")");
  NEUROAI_FAIL_CAT(head, "column indices are not strictly increasing within a row: entry ", pos, " has ",
                   index_at(pos), " after ", index_at(pos - 1));
}

}  // namespace neuroai
