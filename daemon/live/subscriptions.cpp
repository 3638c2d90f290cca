#include "daemon/live/subscriptions.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>

#include "daemon/live/notices.hpp"
#include "daemon/net/session.hpp"

namespace hs::daemon::live {
namespace json = boost::json;

namespace {

// The targets object of a scope (top level, or an account's), or null.
const json::object* scope_targets(const store::StateStore& s, const std::optional<std::string>& account) {
  const json::object* holder = &s.document();
  if (account) holder = s.find_account(*account);
  if (holder == nullptr) return nullptr;
  const json::value* t = holder->if_contains("targets");
  return t != nullptr && t->is_object() ? &t->get_object() : nullptr;
}

// The last_sync a state.changed carries: the account's for a change in an
// account, else the top-level one; null when there is none.
json::value last_sync_of(const store::StateStore& s, const std::optional<std::string>& account) {
  const json::object* holder = &s.document();
  if (account) holder = s.find_account(*account);
  if (holder == nullptr) return nullptr;
  const json::value* v = holder->if_contains("last_sync");
  return v != nullptr && v->is_string() ? *v : json::value(nullptr);
}

}  // namespace

Subscriptions::Subscriptions(boost::asio::io_context& io, sequencer::Sequencer& seq, watch::FileWatch& files,
                             hashing::DriftChecker& drift)
    : io_(io), seq_(seq), files_(files), drift_(drift) {}

Subscriptions::~Subscriptions() { stop(); }

void Subscriptions::start() {
  seq_.set_on_durable([this](const sequencer::ChangeNote& note, const store::StateStore& s) { on_durable(note, s); });
  files_.set_on_dirty([this](const std::vector<std::string>& keys) { on_dirty(keys); });
}

void Subscriptions::stop() {
  stopped_ = true;
  cancel_.cancel();
  for (auto& [key, ks] : keys_) ks.cancel.cancel();
}

std::string Subscriptions::key_of(const Ref& r) { return r.account ? *r.account + "/" + r.target : r.target; }

bool Subscriptions::covers(const Sub& s, const Ref& r) {
  return s.account == r.account && (!s.targets || s.targets->count(r.target) != 0);
}

bool Subscriptions::covered(const Ref& r) const {
  return std::any_of(subs_.begin(), subs_.end(), [&](const auto& kv) { return covers(kv.second, r); });
}

// ---- subscriptions and connections -------------------------------------

Subscriptions::Conn& Subscriptions::conn_for(const std::shared_ptr<net::Session>& session) {
  const uint64_t id = session->id();
  auto [it, fresh] = conns_.try_emplace(id);
  if (!fresh) return it->second;
  it->second.session = session;
  // The connection's end (however it ends) ends its subscriptions. The
  // session may outlive us at teardown: the release checks we are alive.
  session->resources().hold("subscriptions", [this, alive = std::weak_ptr<char>(alive_), id] {
    if (alive.lock()) drop_conn(id);
  });
  session->set_on_written([this, alive = std::weak_ptr<char>(alive_), id] {
    if (alive.lock()) pump(id);
  });
  return it->second;
}

std::optional<uint64_t> Subscriptions::add(const std::shared_ptr<net::Session>& session,
                                           std::optional<std::string> account,
                                           std::optional<std::vector<std::string>> targets, bool triggers) {
  Conn& c = conn_for(session);
  if (c.subs.size() >= kMaxPerConnection) return std::nullopt;
  Sub s;
  s.id = ++next_id_;
  s.conn = session->id();
  s.account = std::move(account);
  s.triggers = triggers;
  if (targets) s.targets = std::set<std::string>(targets->begin(), targets->end());
  c.subs.push_back(s.id);
  const uint64_t id = s.id;
  subs_.emplace(id, std::move(s));
  return id;
}

void Subscriptions::start_initial(uint64_t id) {
  refresh({}, [id](const Sub& s) { return s.id == id; });
}

bool Subscriptions::remove(uint64_t session_id, uint64_t id) {
  auto it = subs_.find(id);
  if (it == subs_.end() || it->second.conn != session_id) return false;
  subs_.erase(it);
  if (auto c = conns_.find(session_id); c != conns_.end()) {
    c->second.box.drop_subscription(id);
    std::erase(c->second.subs, id);
  }
  release_unwatched();
  return true;
}

void Subscriptions::drop_conn(uint64_t conn) {
  auto c = conns_.find(conn);
  if (c == conns_.end()) return;
  for (uint64_t id : c->second.subs) subs_.erase(id);
  conns_.erase(c);
  release_unwatched();
}

void Subscriptions::release_unwatched() {
  // A target no subscription covers any more needs no watching; one whose
  // check is still running is forgotten when the check ends.
  for (auto it = keys_.begin(); it != keys_.end();) {
    KeyState& ks = it->second;
    if (covered(ks.ref)) {
      ++it;
      continue;
    }
    if (ks.watching) files_.drop_interest(it->first);
    ks.watching = false;
    if (ks.in_flight) {
      // Nobody waits for it: stop hashing now (checked() forgets the key).
      ks.cancel.cancel();
      ks.again = false;
      ++it;
      continue;
    }
    it = keys_.erase(it);
  }
}

json::object Subscriptions::info() const {
  size_t watched = 0;
  for (const auto& [key, ks] : keys_) watched += ks.watching ? 1 : 0;
  size_t holding = 0;
  for (const auto& [id, c] : conns_) holding += c.subs.empty() ? 0 : 1;
  return json::object{{"count", subs_.size()},
                      {"connections", holding},
                      {"targets", watched},
                      {"resyncs", resyncs_}};
}

void Subscriptions::on_trigger(const char* method, const json::object& params) {
  std::set<uint64_t> touched;
  for (auto& [id, sub] : subs_) {
    if (!sub.triggers) continue;
    conns_.at(sub.conn).box.put_changed(id, trigger_message(id, method, params));
    touched.insert(sub.conn);
  }
  for (uint64_t c : touched) pump(c);
}

// ---- what makes drift be checked again ----------------------------------

void Subscriptions::on_durable(const sequencer::ChangeNote& note, const store::StateStore& s) {
  if (subs_.empty()) return;
  const json::value last_sync = last_sync_of(s, note.account);
  std::set<uint64_t> touched;
  for (auto& [id, sub] : subs_) {
    bool reaches = true;  // a change without a target concerns the whole state
    if (note.target) {
      // Health scores are kept per target name, outside any account.
      reaches = note.kind == "health" ? (!sub.targets || sub.targets->count(*note.target) != 0)
                                      : covers(sub, Ref{*note.target, note.account});
    }
    if (!reaches) continue;
    conns_.at(sub.conn).box.put_changed(id, changed_message(id, note, last_sync));
    touched.insert(sub.conn);
  }
  for (uint64_t c : touched) pump(c);
  // What is tracked may have changed. Posted: the Sequencer is in the
  // middle of answering a write here, and a read queued now must not run
  // before it has finished.
  std::vector<Ref> refs;
  Which whole;
  if (note.kind == "recorded" || note.kind == "accepted" || note.kind == "cleared") {
    refs.push_back(Ref{*note.target, note.account});
  } else if (note.kind == "reloaded" || note.kind == "migrated") {
    whole = [](const Sub&) { return true; };
  } else {
    return;
  }
  boost::asio::post(io_, [this, alive = std::weak_ptr<char>(alive_), refs = std::move(refs),
                              whole = std::move(whole)]() mutable {
    if (alive.lock()) refresh(std::move(refs), std::move(whole));
  });
}

void Subscriptions::on_dirty(const std::vector<std::string>& keys) {
  std::vector<Ref> refs;
  for (const auto& k : keys) {
    if (auto it = keys_.find(k); it != keys_.end()) {
      refs.push_back(it->second.ref);
      continue;
    }
    auto slash = k.find('/');
    if (slash == std::string::npos) {
      refs.push_back(Ref{k, std::nullopt});
    } else {
      refs.push_back(Ref{k.substr(slash + 1), k.substr(0, slash)});
    }
  }
  refresh(std::move(refs));
}

// ---- checking drift -----------------------------------------------------

void Subscriptions::refresh(std::vector<Ref> refs, Which whole, std::function<void(const store::StateStore&)> first) {
  if (stopped_) return;
  // Entries as durable now: a read in the Sequencer's order.
  seq_.read([this, alive = std::weak_ptr<char>(alive_), refs = std::move(refs), whole = std::move(whole),
                 first = std::move(first)](const store::StateStore& s) {
    if (!alive.lock()) return;
    std::map<std::string, Ref> todo;
    for (const auto& r : refs) {
      if (covered(r)) todo.emplace(key_of(r), r);
    }
    if (whole) {
      for (const auto& [id, sub] : subs_) {
        if (!whole(sub)) continue;
        if (sub.targets) {
          for (const auto& t : *sub.targets) todo.emplace(key_of(Ref{t, sub.account}), Ref{t, sub.account});
          continue;
        }
        if (const json::object* targets = scope_targets(s, sub.account)) {
          for (const auto& kv : *targets) {
            Ref r{std::string(kv.key()), sub.account};
            todo.emplace(key_of(r), r);
          }
        }
      }
    }
    if (first) first(s);
    for (auto& [key, ref] : todo) {
      std::optional<json::object> entry;
      if (const json::object* e = s.find_entry(store::TargetRef{ref.target, ref.account})) entry = *e;
      start_check(key, ref, std::move(entry));
    }
  });
}

void Subscriptions::start_check(const std::string& key, const Ref& ref, std::optional<json::object> entry) {
  KeyState& ks = keys_[key];
  ks.ref = ref;
  if (ks.in_flight) {
    ks.again = true;  // its result is older than this: checked once more after it
    return;
  }
  if (!entry) return settle_untracked(key);
  if (stopped_) return;
  ks.in_flight = true;
  auto paths = hashing::stored_paths(*entry);
  // A source per check: a cancelled one is never reused for the next.
  ks.cancel = CancelSource();
  // Turns on the hashing threads are taken as one owner (all subscriptions),
  // cancellation is per check.
  auto run = [this, alive = std::weak_ptr<char>(alive_), key, entry = std::move(entry),
              cancel = ks.cancel.token()]() mutable {
    if (!alive.lock()) return;
    drift_.check(std::move(entry), cancel_.token().owner(), std::move(cancel),
                 [this, alive, key](std::optional<store::DriftReport> report) {
                   if (alive.lock()) checked(key, std::move(report));
                 });
  };
  // Watched before anything is hashed: an edit after a file was hashed but
  // before this check ends must reach the watch (which asks for a check
  // again), or neither would see it. New paths are resolved and watched on
  // the watch's worker: the check waits for that (a hung mount delays only
  // this target), other clients do not.
  if (!ks.watching || ks.paths != paths) {
    ks.watching = true;
    ks.paths = paths;
    files_.set_interest(key, std::move(paths), std::move(run));
    return;
  }
  run();
}

void Subscriptions::checked(const std::string& key, std::optional<store::DriftReport> report) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  KeyState& ks = it->second;
  ks.in_flight = false;
  if (stopped_) return;  // cancelled: the daemon stops
  if (!covered(ks.ref)) {
    // Its last subscriber left (the check was cancelled then, if it ran).
    if (ks.watching) files_.drop_interest(key);
    keys_.erase(it);
    return;
  }
  if (ks.again) {
    // Asked for again meanwhile (a change, or a new subscriber after the
    // check was cancelled): this result is older, or missing.
    ks.again = false;
    refresh({ks.ref});
    return;
  }
  if (!report) return;
  const Ref ref = ks.ref;
  proto::JsonText body = drift_body(*report);
  std::set<uint64_t> touched;
  for (auto& [id, sub] : subs_) {
    if (!covers(sub, ref)) continue;
    proto::JsonText& last = sub.last_sent[key];
    if (last && *last == *body) continue;  // nothing new for this subscriber
    last = body;
    conns_.at(sub.conn).box.put_drifted(id, key, drifted_message(id, ref.target, ref.account, body));
    touched.insert(sub.conn);
  }
  for (uint64_t c : touched) pump(c);
}

void Subscriptions::settle_untracked(const std::string& key) {
  // Untracked (never recorded, or cleared): nothing to watch and no drift
  // to send; state.changed "cleared" told the subscribers. Forgetting what
  // was sent makes a later record send its drift again.
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  if (it->second.watching) files_.drop_interest(key);
  for (auto& [id, sub] : subs_) sub.last_sent.erase(key);
  keys_.erase(it);
}

// ---- delivery -----------------------------------------------------------

void Subscriptions::pump(uint64_t conn) {
  // Only while the client keeps up: what it leaves unread stays in the
  // mailbox, where newer drifts replace older ones and bounds apply. Looked
  // up each round: a send may close the session (its output cap), which
  // ends its subscriptions.
  for (;;) {
    auto c = conns_.find(conn);
    if (c == conns_.end()) return;
    auto session = c->second.session.lock();
    if (!session || session->closed() || session->unsent_bytes() >= kOutputLow) return;
    Mailbox& box = c->second.box;
    if (box.resync_owed()) {
      box.take_resync();
      resync(conn);
      continue;
    }
    auto msg = box.pop();
    if (!msg) return;
    session->send(std::move(*msg), session->framing());
  }
}

void Subscriptions::resync(uint64_t conn) {
  // The connection missed notifications: it is told that anything may
  // have changed (state.changed "reloaded", one per subscription), then
  // gets the whole drift of every target its subscriptions cover.
  ++resyncs_;
  auto c = conns_.find(conn);
  if (c == conns_.end()) return;
  for (uint64_t id : c->second.subs) subs_.at(id).last_sent.clear();
  refresh({}, [conn](const Sub& s) { return s.conn == conn; },
          [this, conn](const store::StateStore& s) {
            auto it = conns_.find(conn);
            if (it == conns_.end()) return;
            for (uint64_t id : it->second.subs) {
              const Sub& sub = subs_.at(id);
              sequencer::ChangeNote note{"reloaded", std::nullopt, sub.account, {}};
              it->second.box.put_changed(id, changed_message(id, note, last_sync_of(s, sub.account)));
            }
            pump(conn);
          });
}

}  // namespace hs::daemon::live
