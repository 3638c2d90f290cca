// Result<T>: a value or an hs::Error (std::expected is C++23). Status is
// Result<void>. HS_TRY passes an error up, and HS_TRY_ASSIGN also yields the
// value, as ccache's TRY and TRY_ASSIGN do.
#pragma once

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

#include "common/error.hpp"

namespace hs {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // REQUIRES: !ok()
  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: !ok()
  const Error& error() const& { assert(!ok()); return *e_; }
  Error&& error() && { assert(!ok()); return std::move(*e_); }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;

}  // namespace hs

/// Evaluates `expr` (a Result); on error returns that error from the caller.
#define HS_TRY(expr)                                   \
  do {                                                 \
    auto hs_try_result_ = (expr);                      \
    if (!hs_try_result_) return std::move(hs_try_result_).error(); \
  } while (false)

#define HS_TRY_CAT_INNER_(a, b) a##b
#define HS_TRY_CAT_(a, b) HS_TRY_CAT_INNER_(a, b)
#define HS_TRY_ASSIGN_IMPL_(tmp, lhs, expr)     \
  auto tmp = (expr);                            \
  if (!tmp) return std::move(tmp).error();      \
  lhs = std::move(*tmp)

/// Evaluates `expr` (any result type with `operator bool`, `error()` and
/// `operator*`: hs::Result here, harnesssync::Result in the client); on error
/// returns that error from the caller, else moves the value into `lhs`,
/// which may declare it: `HS_TRY_ASSIGN(auto fd, open_file(path));`.
/// A statement, not an expression (standard C++ has no statement
/// expressions), so it needs no compiler extension.
#define HS_TRY_ASSIGN(lhs, expr) HS_TRY_ASSIGN_IMPL_(HS_TRY_CAT_(hs_try_value_, __LINE__), lhs, expr)
