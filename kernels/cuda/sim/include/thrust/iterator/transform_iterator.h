// cuda-sim: thrust::transform_iterator, a random-access iterator that applies f on dereference.
#pragma once

#include <cstddef>
#include <iterator>
#include <type_traits>

namespace thrust {
inline namespace nsim {

template <class F, class It>
class transform_iterator {
 public:
  using iterator_category = std::random_access_iterator_tag;
  using value_type = std::decay_t<std::invoke_result_t<const F&, decltype(*std::declval<It>())>>;
  using difference_type = std::ptrdiff_t;
  using reference = value_type;
  using pointer = void;

  transform_iterator() = default;
  transform_iterator(It it, F f) : it_(it), f_(f) {}
  value_type operator*() const { return f_(*it_); }
  value_type operator[](difference_type i) const { return f_(it_[i]); }
  transform_iterator& operator++() {
    ++it_;
    return *this;
  }
  transform_iterator operator+(difference_type d) const { return {it_ + d, f_}; }
  transform_iterator operator-(difference_type d) const { return {it_ - d, f_}; }
  difference_type operator-(const transform_iterator& o) const { return it_ - o.it_; }
  bool operator==(const transform_iterator& o) const { return it_ == o.it_; }
  It base() const { return it_; }

 private:
  It it_{};
  F f_{};
};

template <class It, class F>
transform_iterator<F, It> make_transform_iterator(It it, F f) {
  return {it, f};
}

}  // namespace nsim
}  // namespace thrust
