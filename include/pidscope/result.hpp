// Errors as values at module boundaries: a Result<T> holds either a value or an Error
// (an errno and the context it happened in). Exceptions stay inside library adapters.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace pidscope {

struct Error {
  int code = 0;         // errno value, 0 when not a system error
  std::string context;  // what was being done, e.g. "open /proc/12/stat"

  std::string Message() const {
    if (code == 0) return context;
    return context + ": " + std::strerror(code);
  }
  static Error FromErrno(std::string context) { return Error{errno, std::move(context)}; }
};

template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace pidscope
