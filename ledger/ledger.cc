#include "ledger/ledger.h"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/rebuild.h"
#include "ledger/replay.h"
#include "ledger/thread_name.h"

namespace callbackledger {
namespace {

constexpr char kCurrencyKey[] = "currency";
constexpr char kSecretKey[] = "secret_key";

// Binds a new data directory to its currency and secret key, or checks an existing one.
// (Store::Open has checked its format; LoadOrRebuild marks it.)
absl::StatusOr<std::string> BindConfig(Store* store, const LedgerOptions& options) {
  std::optional<std::string> currency = store->GetConfig(kCurrencyKey);
  std::optional<std::string> secret = store->GetConfig(kSecretKey);
  if (currency.has_value() && *currency != options.currency) {
    return absl::FailedPreconditionError(
        absl::StrCat("the data directory ", options.data_dir, " keeps its money in ", *currency,
                     ", not ", options.currency, ": start with --currency=", *currency));
  }
  if (currency.has_value() && secret.has_value()) return *secret;
  rocksdb::WriteBatch batch;
  std::string key = secret.has_value() ? *secret : Secrets::NewKey();
  batch.Put(store->config(), kCurrencyKey, options.currency).PermitUncheckedError();
  batch.Put(store->config(), kSecretKey, key).PermitUncheckedError();
  if (absl::Status s = store->WriteSynced(&batch); !s.ok()) return s;
  return key;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(const LedgerOptions& options) {
  if (options.default_ttl_seconds == 0 || options.default_ttl_seconds > 86400) {
    return absl::InvalidArgumentError("default_ttl_seconds must be between 1 and 86400");
  }
  if (options.decimals < 0 || options.decimals > 6) {
    return absl::InvalidArgumentError("decimals must be between 0 and 6");
  }
  if (options.currency.size() != 3 || !std::all_of(options.currency.begin(), options.currency.end(),
                                                   [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("currency \"", options.currency, "\" is not an ISO 4217 code like USD"));
  }
  if (options.max_wal_mib == 0 || options.max_wal_mib > 65536) {
    return absl::InvalidArgumentError("max_wal_mib must be between 1 and 65536");
  }
  if (options.block_cache_mib == 0 || options.block_cache_mib > 65536) {
    return absl::InvalidArgumentError("block_cache_mib must be between 1 and 65536");
  }
  if (options.wal_zero_ahead_mib > 1024) {
    return absl::InvalidArgumentError("wal_zero_ahead_mib must be between 0 and 1024");
  }
  StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.max_wal_bytes = uint64_t{options.max_wal_mib} << 20;
  store_options.block_cache_bytes = uint64_t{options.block_cache_mib} << 20;
  store_options.wal_zero_ahead_bytes = uint64_t{options.wal_zero_ahead_mib} << 20;
  store_options.env = options.env;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(store_options);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::string> key = BindConfig(store->get(), options);
  if (!key.ok()) return key.status();
  std::unique_ptr<Ledger> ledger(new Ledger(options, *std::move(store), *std::move(key)));
  if (absl::Status s = ledger->Load(); !s.ok()) return s;
  LedgerRules rules;
  rules.license_max_active_callerids = options.license_max_active_callerids;
  rules.decimals = options.decimals;
  rules.pin_max_attempts = options.pin_max_attempts;
  rules.default_ttl_seconds = options.default_ttl_seconds;
  ledger->committer_ =
      std::make_unique<Committer>(ledger->store_.get(), &ledger->state_, &ledger->state_mu_,
                                  ledger->clock_, rules, options.committer);
  if (options.expiry_poll_milliseconds > 0) {
    Ledger* raw = ledger.get();
    ledger->expiry_thread_ = StartNamedThread("ledger-expiry", [raw] { raw->RunExpiry(); });
  }
  return ledger;
}

Ledger::Ledger(const LedgerOptions& options, std::unique_ptr<Store> store, std::string secret_key)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : &system_clock_),
      store_(std::move(store)),
      secrets_(std::move(secret_key)) {}

Ledger::~Ledger() { Shutdown(); }

absl::Status Ledger::Load() {
  absl::Status loaded = LoadOrRebuild();
  // What loading used only for a while (parsed rows, a rebuild's runs of rows, parsed
  // events and deltas) is freed by now: malloc hands back what it kept of it.
  malloc_trim(0);
  return loaded;
}

absl::Status Ledger::LoadOrRebuild() {
  absl::StatusOr<uint64_t> last = store_->LastSequence();
  if (!last.ok()) return last.status();
  // The projections of format 1 are made again from the log (which every format shares);
  // those of formats 2 and 3 are loaded, which moves the expired and orphaned reservations
  // of format 2 to closed_reservations, and their calls are added up into call_totals. Only
  // then is the directory marked with this format: a crash before that leaves it in the old
  // one, upgraded again at the next start. A new directory is marked the same way, after a
  // rebuild of nothing.
  const std::string format = store_->format();
  const bool upgrade = format != Store::kFormat;
  const bool rebuild = upgrade && format != Store::kFormatThree && format != Store::kFormatTwo;
  if (upgrade && *last > 0) {
    std::fprintf(stderr, "the data directory is in format %s: %s its projections to format %s\n",
                 format.c_str(), rebuild ? "rebuilding" : "upgrading", Store::kFormat);
  }
  bool fill_totals = upgrade && !rebuild;
  auto mark = [this, upgrade, &fill_totals]() -> absl::Status {
    if (!upgrade) return absl::OkStatus();
    if (fill_totals) {
      if (absl::Status s = FillCallTotals(store_.get()); !s.ok()) return s;
    }
    rocksdb::WriteBatch batch;
    batch.Put(store_->config(), Store::kFormatKey, Store::kFormat).PermitUncheckedError();
    return store_->WriteSynced(&batch);
  };
  if (!options_.rebuild_projections && !rebuild) {
    if (absl::Status s = LoadProjections(store_.get(), &state_); !s.ok()) return s;
    if (state_.meta().last_sequence == *last) return mark();
    // Projections are written in the same batch as their events, so this means rows
    // were lost or damaged: the log is the truth, rebuild from it.
    std::fprintf(stderr, "projections stop at event %llu but the log at %llu: rebuilding\n",
                 static_cast<unsigned long long>(state_.meta().last_sequence),
                 static_cast<unsigned long long>(*last));
    state_.Clear();
  }
  uint64_t total = *last;
  auto progress = [this, total](uint64_t replayed) {
    if (options_.rebuild_progress) options_.rebuild_progress(replayed, total);
  };
  fill_totals = false;  // a rebuild writes them
  if (absl::Status s = RebuildProjections(store_.get(), &state_, progress); !s.ok()) return s;
  if (state_.meta().last_sequence != *last) {
    return absl::DataLossError("the rebuilt projections do not reach the end of the log");
  }
  if (absl::Status s = mark(); !s.ok()) return s;
  progress(total);
  return absl::OkStatus();
}

void Ledger::Shutdown() {
  {
    MutexLock lock(&expiry_mu_);
    expiry_stop_ = true;
  }
  if (expiry_thread_.joinable()) expiry_thread_.join();
  if (committer_ != nullptr) {
    committer_->Stop();
    // A clean stop writes the memtables to table files, so that the next start has no
    // write-ahead log to replay (replaying it took seconds: every write since the last
    // flush). Not after a failed write: the store is then in an unknown state, and RocksDB
    // 7.8 may assert on a second flush attempt; the log is replayed at the next start.
    if (committer_->write_error().ok()) {
      if (absl::Status s = store_->FlushAll(); !s.ok()) {
        std::fprintf(stderr, "stopping: %s (the next start replays the log)\n",
                     std::string(s.message()).c_str());
      }
    }
  }
  committer_.reset();
  store_.reset();
}

absl::Status Ledger::WriteHealth() const {
  if (committer_ == nullptr) return absl::UnavailableError("the ledger is closed");
  return committer_->write_error();
}

uint64_t Ledger::last_sequence() const {
  ReaderMutexLock lock(&state_mu_);
  return state_.meta().last_sequence;
}

size_t Ledger::open_reservations() const {
  ReaderMutexLock lock(&state_mu_);
  return state_.expiry_index().size();
}

void Ledger::Submit(Command command, const Origin& origin) {
  command.actor = origin.actor;
  command.deadline = origin.deadline;
  std::function<void(CommandResult)> done = command.done;
  absl::Status queued = committer_ == nullptr ? absl::UnavailableError("the ledger is closed")
                                              : committer_->Submit(std::move(command));
  if (!queued.ok()) {
    CommandResult result;
    result.status = queued;
    done(std::move(result));
  }
}

}  // namespace callbackledger
