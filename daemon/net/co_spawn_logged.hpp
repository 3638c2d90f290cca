// co_spawn whose failures are seen. With asio::detached an exception
// thrown out of a coroutine vanishes: an accept loop that died would leave
// a daemon that accepts nothing, a reader that died would never free its
// connection slot. Here the exception is logged and `on_failure` runs
// (close the connection, stop the daemon).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <exception>
#include <functional>
#include <string>
#include <utility>

#include "common/log.hpp"

namespace hs::daemon::net {

/// The handler spawn_logged completes with; exposed for tests.
inline auto logged_completion(std::string what, std::function<void()> on_failure) {
  return [what = std::move(what), on_failure = std::move(on_failure)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log::error(what + " failed: " + x.what());
    } catch (...) {
      log::error(what + " failed: unknown exception");
    }
    if (on_failure) on_failure();
  };
}

/// Runs `coro` (an awaitable, or a callable returning one) on `ex` (an
/// executor or an io_context).
template <class Executor, class Coro>
void spawn_logged(Executor&& ex, Coro&& coro, std::string what, std::function<void()> on_failure) {
  boost::asio::co_spawn(std::forward<Executor>(ex), std::forward<Coro>(coro), logged_completion(std::move(what), std::move(on_failure)));
}

}  // namespace hs::daemon::net
