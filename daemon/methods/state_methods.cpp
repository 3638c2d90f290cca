// state.*: every access goes through the sequencer (see sequencer.hpp).
#include "daemon/methods/method_table.hpp"
#include "proto/params.hpp"

namespace hs::daemon {
namespace json = boost::json;
using store::StateStore;
using store::TargetRef;

namespace {

TargetRef read_ref(proto::Params& p) { return TargetRef{p.name("target"), p.opt_name("account")}; }

}  // namespace

void state_record(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  store::RecordArgs a;
  a.ref = read_ref(p);
  a.scope = p.str("scope");
  a.file_hashes = p.path_map("file_hashes", true);
  a.sync_methods = p.path_map("sync_methods", false);
  a.synced = p.count("synced");
  a.skipped = p.count("skipped");
  a.failed = p.count("failed");
  p.no_others({"target", "scope", "file_hashes", "sync_methods", "synced", "skipped", "failed", "account"});
  if (!p.ok()) return c.reply(p.error());
  ctx.seq.mutate(
      [a = std::move(a)](StateStore& s) -> Result<json::value> {
        auto r = s.apply_record(a);
        if (!r) return std::move(r).error();
        return json::value(std::move(*r));
      },
      answer(std::move(c.reply)));
}

void state_drift(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  TargetRef ref = read_ref(p);
  bool with_hashes = c.params.contains("current_hashes");
  json::object current = p.path_map("current_hashes", false);
  p.no_others({"target", "current_hashes", "account"});
  if (!p.ok()) return c.reply(p.error());
  ctx.seq.read([&ctx, ref = std::move(ref), with_hashes, current = std::move(current), cancel = c.cancel,
                reply = std::move(c.reply)](const StateStore& s) mutable {
    const json::object* entry = s.find_entry(ref);
    if (with_hashes) {
      auto d = store::drift_from_hashes(entry, current);
      if (!d) return reply(to_rpc_error(d.error()));
      return reply(json::value(d->to_json(ref.target)));
    }
    // Hashing may take long: copy the entry (as durable now) and hash on the pool.
    std::optional<json::object> copy;
    if (entry != nullptr) copy = *entry;
    ctx.offload(
        cancel, [copy = std::move(copy), target = ref.target]() -> Outcome {
          return json::value(store::drift_on_disk(copy ? &*copy : nullptr).to_json(target));
        },
        std::move(reply));
  });
}

void state_target(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  TargetRef ref = read_ref(p);
  p.no_others({"target", "account"});
  if (!p.ok()) return c.reply(p.error());
  ctx.seq.read([ref = std::move(ref), reply = std::move(c.reply)](const StateStore& s) {
    const json::object* e = s.find_entry(ref);
    reply(e != nullptr ? json::value(*e) : json::value(nullptr));
  });
}

void state_all(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  p.no_others({});
  if (!p.ok()) return c.reply(p.error());
  ctx.seq.read_text([reply = std::move(c.reply)](JsonText text) { reply(std::move(text)); });
}

void state_clear(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  TargetRef ref = read_ref(p);
  p.no_others({"target", "account"});
  if (!p.ok()) return c.reply(p.error());
  ctx.seq.mutate(
      [ref = std::move(ref)](StateStore& s) -> Result<json::value> {
        auto r = s.apply_clear(ref);
        if (!r) return std::move(r).error();
        return json::value(json::object{{"cleared", *r}});
      },
      answer(std::move(c.reply)));
}

void state_accept(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  TargetRef ref = read_ref(p);
  auto paths = p.paths("paths");
  p.no_others({"target", "paths", "account"});
  if (!p.ok()) return c.reply(p.error());
  // Keep this change's place in the order while its files are hashed on the
  // pool; the hashes depend only on the disk, not on the state.
  auto slot = ctx.seq.reserve();
  ctx.run_blocking([paths = std::move(paths)] { return store::observe_files(paths); },
                   [&ctx, slot, ref = std::move(ref), reply = std::move(c.reply)](
                       std::vector<store::Observed> observed) mutable {
                     ctx.seq.fill(
                         slot,
                         [ref = std::move(ref), observed = std::move(observed)](StateStore& s) -> Result<json::value> {
                           auto r = s.apply_accept(ref, observed);
                           if (!r) return std::move(r).error();
                           return json::value(r->to_json());
                         },
                         answer(std::move(reply)));
                   });
}

void state_migrate_cc2all(Context& ctx, Call&& c) {
  proto::Params p(c.params);
  auto old_dir = p.opt_path("old_state_dir");
  p.no_others({"old_state_dir"});
  if (!p.ok()) return c.reply(p.error());
  ctx.seq.mutate(
      [old_dir = std::move(old_dir)](StateStore& s) -> Result<json::value> {
        auto r = s.apply_migrate_cc2all(old_dir);
        if (!r) return std::move(r).error();
        return json::value(r->to_json());
      },
      answer(std::move(c.reply)));
}

}  // namespace hs::daemon
