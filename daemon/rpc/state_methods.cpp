// state.*: every access goes through the sequencer (daemon/sequencer/);
// files are hashed on the hashing service (daemon/hashing/jobs.hpp), drift
// is checked by daemon/hashing/drift_checker.hpp.
#include "daemon/hashing/drift_checker.hpp"
#include "daemon/hashing/jobs.hpp"
#include "daemon/rpc/errors.hpp"
#include "daemon/rpc/method_table.hpp"
#include "daemon/store/drift.hpp"

namespace hs::daemon::rpc {
namespace json = boost::json;
using proto::Args;
using store::StateStore;
using store::TargetRef;

namespace {

TargetRef read_ref(const Args& a) { return TargetRef{a.str("target"), a.opt_str("account")}; }

}  // namespace

void state_record(Context& ctx, Call&& c) {
  Args p(c.params);
  store::RecordArgs a;
  a.ref = read_ref(p);
  a.scope = p.str("scope");
  a.file_hashes = p.path_map("file_hashes");
  a.sync_methods = p.path_map("sync_methods");
  a.synced = p.count("synced");
  a.skipped = p.count("skipped");
  a.failed = p.count("failed");
  sequencer::ChangeNote note{"recorded", a.ref.target, a.ref.account, {}};
  ctx.seq.mutate(
      [a = std::move(a)](StateStore& s) -> Result<json::value> {
        HS_TRY_ASSIGN(json::object entry, s.apply_record(a));
        return json::value(std::move(entry));
      },
      answer(std::move(c.reply)), std::move(note), c.cancel.owner());
}

void state_drift(Context& ctx, Call&& c) {
  Args p(c.params);
  TargetRef ref = read_ref(p);
  bool with_hashes = p.has("current_hashes");
  json::object current = p.path_map("current_hashes");
  ctx.seq.read([&ctx, ref = std::move(ref), with_hashes, current = std::move(current), cancel = c.cancel,
                reply = std::move(c.reply)](const StateStore& s) mutable {
    const json::object* entry = s.find_entry(ref);
    if (with_hashes) {
      auto d = store::drift_from_hashes(entry, current);
      if (!d) return reply(to_rpc_error(d.error()));
      return reply(json::value(d->to_json(ref.target)));
    }
    ctx.drift.check_in_store((ref.account ? *ref.account + "/" : std::string()) + ref.target, entry, s.generation(),
                             cancel.owner(), cancel,
                             [target = ref.target, cancel,
                              reply = std::move(reply)](std::optional<store::DriftReport> report) {
                               if (!report) return answer_cancelled(cancel, reply);
                               reply(json::value(report->to_json(target)));
                             });
  }, c.cancel.owner());
}

void state_target(Context& ctx, Call&& c) {
  TargetRef ref = read_ref(Args(c.params));
  ctx.seq.read([ref = std::move(ref), reply = std::move(c.reply)](const StateStore& s) {
    const json::object* e = s.find_entry(ref);
    reply(e != nullptr ? json::value(*e) : json::value(nullptr));
  }, c.cancel.owner());
}

void state_all(Context& ctx, Call&& c) {
  ctx.seq.read_text([reply = std::move(c.reply)](JsonText text) { reply(std::move(text)); }, c.cancel.owner());
}

void state_clear(Context& ctx, Call&& c) {
  TargetRef ref = read_ref(Args(c.params));
  // Only a clear that removed an entry changed anything.
  sequencer::ChangeNote note{"cleared", ref.target, ref.account,
                  [](const json::value& v) { return v.at("cleared").as_bool(); }};
  ctx.seq.mutate(
      [ref = std::move(ref)](StateStore& s) -> Result<json::value> {
        HS_TRY_ASSIGN(const bool cleared, s.apply_clear(ref));
        return json::value(json::object{{"cleared", cleared}});
      },
      answer(std::move(c.reply)), std::move(note), c.cancel.owner());
}

void state_accept(Context& ctx, Call&& c) {
  Args p(c.params);
  TargetRef ref = read_ref(p);
  auto paths = p.paths("paths");
  // The files are hashed first, outside the sequence of changes (a 1 TB
  // file takes minutes): only this connection's later state requests wait
  // behind the accept, in its lane; every other connection's reads and
  // changes go on. The change takes its place in the sequence when its
  // hashes are in.
  auto slot = ctx.seq.reserve(c.cancel.owner());
  // A change, unlike a read, is not given up when its connection closes:
  // a client that sends and hangs up has everything it sent handled
  // (PROTOCOL.md, "Hang-up"), an accept as much as a record. So the hash
  // goes on for a client that left (taking turns with everyone else's on
  // the hashing threads), and only a shutdown cancels it: not applied,
  // -32000.
  ctx.jobs.hash_then(
      c.cancel.owner(), CancelToken(), paths,
      [&ctx, slot, paths, ref = std::move(ref), cancel = c.cancel,
       reply = std::move(c.reply)](std::optional<hashing::Hasher::Digests> digests) mutable {
        if (!digests) {
          // The slot must still be filled, or the connection's later
          // requests never run; it changes nothing.
          return ctx.seq.fill(
              slot, [](StateStore&) -> Result<json::value> { return json::value(nullptr); },
              [cancel, reply = std::move(reply)](const Result<json::value>&) { answer_cancelled(cancel, reply); });
        }
        std::vector<store::Observed> observed;
        observed.reserve(paths.size());
        for (size_t i = 0; i < paths.size(); ++i) {
          auto& h = (*digests)[i];
          store::Observed o{paths[i], std::nullopt, std::nullopt};
          if (h) {
            o.hash = std::move(*h);
          } else if (!hashing::file_missing(h.error())) {
            o.unreadable = h.error().reason();
          }
          observed.push_back(std::move(o));
        }
        sequencer::ChangeNote note{"accepted", ref.target, ref.account, {}};
        ctx.seq.fill(
            slot,
            [ref = std::move(ref), observed = std::move(observed)](StateStore& s) -> Result<json::value> {
              HS_TRY_ASSIGN(const store::AcceptResult accepted, s.apply_accept(ref, observed));
              return json::value(accepted.to_json());
            },
            answer(std::move(reply)), std::move(note));
      });
}

void state_migrate_cc2all(Context& ctx, Call&& c) {
  auto old_dir = Args(c.params).opt_str("old_state_dir");
  ctx.seq.mutate(
      [old_dir = std::move(old_dir)](StateStore& s) -> Result<json::value> {
        HS_TRY_ASSIGN(const store::MigrateResult migrated, s.apply_migrate_cc2all(old_dir));
        return json::value(migrated.to_json());
      },
      answer(std::move(c.reply)),
      sequencer::ChangeNote{"migrated", std::nullopt, std::nullopt,
                            [](const json::value& v) { return v.at("migrated").as_bool(); }},
      c.cancel.owner());
}

}  // namespace hs::daemon::rpc
