#include "daemon/triggers/service.hpp"

#include <boost/asio/post.hpp>
#include <set>

#include "common/durable_file.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/state_dir.hpp"
#include "daemon/store/temp_files.hpp"
#include "daemon/triggers/trigger_file.hpp"

namespace hs::daemon::triggers {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

std::string path_of(const std::vector<std::string>& environ) {
  for (const auto& e : environ) {
    if (e.rfind("PATH=", 0) == 0) return e.substr(5);
  }
  return "/usr/local/bin:/usr/bin:/bin";
}

}  // namespace

Service::Service(asio::io_context& io, locks::LockTable& locks, Config cfg, Notify notify)
    : io_(io),
      locks_(locks),
      cfg_(std::move(cfg)),
      notify_(std::move(notify)),
      checks_(system_checks(path_of(cfg_.environ))),
      reaper_(make_reaper(io)),
      watch_(std::make_unique<watch::TreeWatch>(
          io, cfg_.watch,
          [this](const std::string& key, std::vector<std::string> paths, bool unknown) {
            on_change(key, std::move(paths), unknown);
          })),
      files_(std::make_unique<watch::Worker>(io)),
      spawns_(std::make_unique<watch::Worker>(io)),
      saver_(std::make_unique<Saver>(*files_, fs::join(cfg_.state_dir, kTriggersFileName), [this] { return snapshot(); })),
      host_{io,
            locks,
            *reaper_,
            [this](const Spec& s) { return environment(s); },
            [this](const char* method, json::object params) {
              if (notify_) notify_(method, std::move(params));
            },
            [this](std::function<void()> done) { watch_->sync(std::move(done)); },
            [this](const std::string& name, std::function<void(std::string)> done) {
              watch_->signature(name, std::move(done));
            },
            [this] { saver_->save(); },
            [this](std::function<void()> blocking, std::function<void()> then) {
              spawns_->post(std::move(blocking), std::move(then));
            },
            cfg_.kill_after} {
  locks_.add_on_owed([this, alive = alive_](const std::string& name) {
    if (*alive) on_lock_owed(name);
  });
}

Service::~Service() {
  *alive_ = false;
  files_->stop();
  spawns_->stop();
  watch_->stop();
  triggers_.clear();
  retiring_.clear();
}

std::string Service::snapshot() const {
  std::vector<Saved> all;
  all.reserve(triggers_.size());
  for (const auto& [name, t] : triggers_) all.push_back(t->saved());
  return encode(all);
}

Error Service::write_failed(const Error& e) {
  Error w = e;
  w.code = Errc::write_failed;
  return w;
}

std::vector<std::string> Service::environment(const Spec& s) const {
  // The service manager's variables are the daemon's alone: a command that
  // read NOTIFY_SOCKET would speak for the daemon.
  static const std::set<std::string> kDropped = {"NOTIFY_SOCKET",  "LISTEN_FDS",    "LISTEN_PID",
                                                 "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"};
  std::map<std::string, std::string> env;
  for (const auto& e : cfg_.environ) {
    const auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = e.substr(0, eq);
    if (!kDropped.count(key)) env[key] = e.substr(eq + 1);
  }
  for (const auto& [k, v] : s.env) env[k] = v;
  env["HARNESSSYNC_TRIGGER"] = s.name;
  env["HARNESSSYNC_SOCKET"] = cfg_.socket_path;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// ---- start-up ----

Status Service::start() {
  HS_TRY_ASSIGN(Loaded loaded, load_file(cfg_.state_dir));
  for (const auto& w : loaded.warnings) log::warn(w);
  for (auto& s : loaded.triggers) {
    const std::string name = s.spec.name;
    const bool owed = s.owed || s.in_run;
    const std::optional<std::string> sig = s.signature;
    auto& t = triggers_[name];
    t = std::make_unique<Trigger>(host_, std::move(s));
    if (!t->spec().enabled) continue;
    watch_trigger(name, [this, name, owed, sig] {
      auto it = triggers_.find(name);
      if (it == triggers_.end() || stopping_) return;
      if (owed) {
        log::info("trigger " + name + ": a run was owed when the daemon stopped; it runs once");
        it->second->machine().changed_unknown();
        return;
      }
      watch_->signature(name, [this, name, sig](std::string now) {
        auto found = triggers_.find(name);
        if (found == triggers_.end() || stopping_ || (sig && *sig == now)) return;
        log::info("trigger " + name + ": its watched files changed while the daemon was down; it runs once");
        found->second->machine().changed_unknown();
      });
    });
  }
  log::info("triggers: " + std::to_string(triggers_.size()) + " loaded");
  return {};
}

void Service::watch_trigger(const std::string& name, std::function<void()> ready) {
  const Trigger& t = *triggers_.at(name);
  if (t.spec().enabled) {
    watch_->set_roots(name, t.spec().watch, std::move(ready));
    return;
  }
  watch_->drop(name);
  if (ready) watch_->sync(std::move(ready));  // after the drop
}

// ---- changes, one at a time ----

void Service::enqueue(std::function<void()> change) {
  changes_.push_back(std::move(change));
  if (!changing_) next_change();
}

void Service::next_change() {
  if (changes_.empty()) {
    changing_ = false;
    return;
  }
  changing_ = true;
  auto change = std::move(changes_.front());
  changes_.pop_front();
  change();
}

void Service::set(json::object params, Done done) {
  enqueue([this, params = std::move(params), done = std::move(done)]() mutable {
    auto parsed = std::make_shared<std::optional<Result<Spec>>>();
    files_->post(
        [this, parsed, params = std::move(params)] { parsed->emplace(parse_spec(params, cfg_.state_dir, &checks_)); },
        [this, parsed, done = std::move(done)]() mutable {
          Result<Spec>& spec = **parsed;
          if (!spec) {
            done(std::move(spec).error());
            return next_change();
          }
          apply_set(std::move(*spec), std::move(done));
        });
  });
}

void Service::apply_set(Spec spec, Done done) {
  const std::string name = spec.name;
  std::optional<Saved> before;
  if (auto old = triggers_.find(name); old == triggers_.end()) {
    Saved s;
    s.spec = std::move(spec);
    triggers_.emplace(name, std::make_unique<Trigger>(host_, std::move(s)));
  } else {
    before = old->second->saved();
    old->second->redefine(std::move(spec));
  }
  // Watched, then its baseline signature taken (edits made while the
  // daemon is down are seen at the next start, even before a first run),
  // then durable: only then answered.
  watch_trigger(name, [this, name, before, done = std::move(done)]() mutable {
    watch_->signature(name, [this, name, before, done = std::move(done)](std::string sig) mutable {
      if (auto it = triggers_.find(name); it != triggers_.end()) it->second->set_signature(std::move(sig));
      saver_->save([this, name, before, done = std::move(done)](const Status& st) {
        auto it = triggers_.find(name);
        if (st) {
          done(it != triggers_.end() ? json::value(it->second->to_json()) : json::value(nullptr));
          return next_change();
        }
        // Taken back: the trigger as it was, or none.
        if (it != triggers_.end()) {
          if (before) {
            it->second->redefine(before->spec);
            if (before->signature) it->second->set_signature(*before->signature);
            watch_trigger(name, {});
          } else {
            watch_->drop(name);
            triggers_.erase(it);
          }
        }
        saver_->save();
        done(write_failed(st.error()));
        next_change();
      });
    });
  });
}

void Service::remove(const std::string& name, Done done) {
  enqueue([this, name, done = std::move(done)] {
    auto it = triggers_.find(name);
    if (it == triggers_.end()) {
      done(invalid_argument("name", "no trigger named " + name));
      return next_change();
    }
    std::unique_ptr<Trigger> t = std::move(it->second);
    triggers_.erase(it);
    watch_->drop(name);
    const Saved before = t->saved();
    Trigger* raw = t.get();
    retiring_.push_back(std::move(t));
    // A run in progress finishes (a sync cut short helps nobody); the
    // trigger is gone once it has.
    raw->retire(false, [this, raw, alive = alive_] {
      asio::post(io_, [this, raw, alive] {
        if (*alive) std::erase_if(retiring_, [raw](const auto& p) { return p.get() == raw; });
      });
    });
    saver_->save([this, name, before, done](const Status& st) {
      if (st) {
        done(json::value(true));
        return next_change();
      }
      triggers_.emplace(name, std::make_unique<Trigger>(host_, before));
      watch_trigger(name, {});
      saver_->save();
      done(write_failed(st.error()));
      next_change();
    });
  });
}

void Service::pause(std::optional<std::string> name, Done done) { set_paused(std::move(name), true, std::move(done)); }
void Service::resume(std::optional<std::string> name, Done done) { set_paused(std::move(name), false, std::move(done)); }

void Service::set_paused(std::optional<std::string> name, bool paused, Done done) {
  enqueue([this, name = std::move(name), paused, done = std::move(done)] {
    // Triggers are only removed by changes, which wait their turn: these
    // pointers hold until this change is answered.
    std::vector<std::pair<Trigger*, bool>> before;
    for (auto& [n, t] : triggers_) {
      if (!name || n == *name) before.emplace_back(t.get(), t->paused());
    }
    if (name && before.empty()) {
      done(invalid_argument("name", "no trigger named " + *name));
      return next_change();
    }
    for (auto& [t, was] : before) paused ? t->pause() : t->resume();
    saver_->save([this, before, done](const Status& st) {
      if (st) {
        done(json::value(true));
        return next_change();
      }
      for (auto& [t, was] : before) was ? t->pause() : t->resume();
      saver_->save();
      done(write_failed(st.error()));
      next_change();
    });
  });
}

// ---- runs and queries ----

json::array Service::list() const {
  json::array out;
  for (const auto& [name, t] : triggers_) out.push_back(t->to_json());
  return out;
}

json::value Service::run(const std::string& name) {
  const uint64_t n = triggers_.at(name)->run_now();
  return json::object{{"queued", true}, {"run", n}};
}

json::value Service::log(const std::string& name, size_t runs) const { return triggers_.at(name)->log(runs); }

json::object Service::info() const {
  size_t running = 0, paused = 0;
  for (const auto& [name, t] : triggers_) {
    running += t->machine().running() ? 1 : 0;
    paused += t->paused() ? 1 : 0;
  }
  return json::object{{"count", triggers_.size()}, {"running", running}, {"paused", paused}, {"watch", watch_->info()}};
}

bool Service::own_file(const std::string& path) const {
  auto [dir, base] = fs::split(path);
  if (dir != cfg_.state_dir) return false;
  static const std::string kTempPrefix = durable_temp_prefix(kTriggersFileName);
  return base == kTriggersFileName || base == kDaemonLogName || base.starts_with(kTempPrefix) ||
         store::is_transient_name(base);
}

void Service::on_change(const std::string& name, std::vector<std::string> paths, bool unknown) {
  auto it = triggers_.find(name);
  if (it == triggers_.end() || stopping_) return;
  // The daemon's bookkeeping in the state dir is not a change: every
  // trigger.set saves triggers.json, and a run's log lines would feed a
  // trigger that watches the state dir for ever. state.json is the user's
  // (the store's new and swap files come and go with each of its writes).
  if (!unknown) {
    std::erase_if(paths, [this](const std::string& p) { return own_file(p); });
    if (paths.empty()) return;
  }
  if (unknown) {
    it->second->machine().changed_unknown();
  } else {
    it->second->machine().changed(paths);
  }
}

void Service::on_lock_owed(const std::string& lock) {
  if (stopping_) return;
  // The triggers whose coalesced runs the leaver covered run after all;
  // when none was, one trigger on that lock pays for the callers who were.
  bool any = false;
  for (auto& [name, t] : triggers_) {
    if (t->spec().lock == lock) any |= t->on_owed(false);
  }
  if (any) return;
  for (auto& [name, t] : triggers_) {
    if (t->spec().lock == lock && t->spec().enabled && !t->paused()) {
      log::info("trigger " + name + ": lock " + lock + " is owed a run; it runs to pay it");
      t->on_owed(true);
      return;
    }
  }
}

// ---- stopping ----

void Service::shutdown(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  auto left = std::make_shared<size_t>(triggers_.size() + retiring_.size() + 1);
  auto one_done = [this, left, done = std::move(done)] {
    if (--*left != 0) return;
    // What is owed (runs cut short, runs due) is in the file before the
    // daemon exits.
    saver_->save([this, done](const Status& st) {
      if (!st) log::error("triggers: cannot save what is owed: " + st.error().message());
      watch_->stop();  // its reads would keep the loop running
      done();
    });
  };
  for (auto& [name, t] : triggers_) t->retire(true, one_done);
  for (auto& t : retiring_) t->retire(true, one_done);
  one_done();
}

}  // namespace hs::daemon::triggers
