// How handlers hash files: through the context's Hasher (fair, chunked,
// cancellable), with the answer back on the event loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/rpc/context.hpp"
#include "daemon/hashing/hasher.hpp"

namespace hs::daemon::hashing {

/// Hashes `paths` for `owner` (the caller's connection: CancelToken::owner),
/// cancelled by `cancel` or at shutdown; `then` runs on the loop with the
/// digests, or nullopt when cancelled. Until it has run, a graceful
/// shutdown waits for it (rpc::Context::pending_jobs), so cancel_all must come
/// first for a shutdown to be quick.
void hash_then(rpc::Context& ctx, const void* owner, CancelToken cancel, std::vector<std::string> paths,
               std::function<void(std::optional<Hasher::Digests>)> then);

/// The same with stat probes (Hasher::submit_checked), for drift_check.
void hash_checked_then(rpc::Context& ctx, const void* owner, CancelToken cancel, std::vector<Hasher::Probe> probes,
                       std::function<void(std::optional<Hasher::Outcomes>)> then);

/// The same with stat checks only (Hasher::submit_stats), for drift_check.
void stats_checked_then(rpc::Context& ctx, const void* owner, CancelToken cancel,
                        std::shared_ptr<const Hasher::StatProbes> probes,
                        std::function<void(std::optional<bool>)> then);

/// The answer to a cancelled hashing request: -32000 while its connection
/// is open (the daemon stops), nothing once it has closed.
void answer_cancelled(const CancelToken& cancel, const rpc::Reply& reply);

/// Whether a hashing error means "no such file" (a missing file, or a
/// path through a non-directory), as opposed to one that cannot be read.
bool file_missing(const Error& e);

}  // namespace hs::daemon::hashing
