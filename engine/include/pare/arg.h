// PARE_ARG: one chained option of an options struct, as libtorch's TORCH_ARG. It declares a
// setter that returns the struct (for chaining), a getter of the same name and the member, whose
// default follows the macro:
//
//   struct SoftplusFuncOptions {
//     PARE_ARG(double, beta) = 1.0;
//     PARE_ARG(double, threshold) = 20.0;
//   };
//   auto options = SoftplusFuncOptions().beta(2.0);   // options.beta() == 2.0
//
// The macro leaves the struct's access at private: write `public:` before what follows it.
#pragma once

#define PARE_ARG(T, name)                   \
 public:                                    \
  auto& name(const T& new_##name) {         \
    this->name##_ = new_##name;             \
    return *this;                           \
  }                                         \
  const T& name() const { return name##_; } \
                                            \
 private:                                   \
  T name##_
