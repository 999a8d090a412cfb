// The privileged-test policy: a test that needs root (BPF, namespaces, mounts) skips where the
// capability is truly absent, except under CI=true, where such a skip is a failure.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace pidscope::testing {

// Why privileged tests cannot run here (not root, no CAP_SYS_ADMIN/CAP_BPF), or nullopt.
std::optional<std::string> MissingPrivilege();
bool InCi();

}  // namespace pidscope::testing

#define PIDSCOPE_REQUIRE_ROOT()                                              \
  do {                                                                       \
    if (auto missing_ = ::pidscope::testing::MissingPrivilege()) {           \
      if (::pidscope::testing::InCi()) {                                     \
        FAIL() << "privileged test cannot run under CI=true: " << *missing_; \
      } else {                                                               \
        GTEST_SKIP() << *missing_;                                           \
      }                                                                      \
    }                                                                        \
  } while (0)
