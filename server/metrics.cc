#include "server/metrics.h"

#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "callbackledger/v1/reports.pb.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/thread_cpu.h"

namespace callbackledger {
namespace {

// Request latency, seconds: 100 µs to 10 s.
const std::vector<double>& LatencyBuckets() {
  static const std::vector<double>* const buckets =
      new std::vector<double>{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                              0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

// A synced WriteBatch write, seconds: 50 µs to 2.5 s.
const std::vector<double>& SyncBuckets() {
  static const std::vector<double>* const buckets =
      new std::vector<double>{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                              0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5};
  return *buckets;
}

// Commands in a group: 1 to the committer's largest group (1000 by default).
const std::vector<double>& GroupSizeBuckets() {
  static const std::vector<double>* const buckets =
      new std::vector<double>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  return *buckets;
}

// The canonical name of a status code ("INVALID_ARGUMENT"); codes share absl's numbers.
std::string CodeLabel(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

prometheus::MetricFamily GaugeFamily(std::string name, std::string help, double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
  return family;
}

// A gauge with one series per value of `label`.
prometheus::MetricFamily LabelledGaugeFamily(
    std::string name, std::string help, const std::string& label,
    const std::vector<std::pair<std::string, uint64_t>>& values) {
  prometheus::MetricFamily family = GaugeFamily(std::move(name), std::move(help), 0);
  family.metric.clear();
  for (const auto& [value_of_label, value] : values) {
    prometheus::ClientMetric metric;
    metric.label.push_back({label, value_of_label});
    metric.gauge.value = static_cast<double>(value);
    family.metric.push_back(std::move(metric));
  }
  return family;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RpcTable

RpcTable::RpcTable() {
  Add("", "unknown", false);
  // The files of the API, through one message of each: naming a message links its file's
  // descriptors in, which naming the service alone does not.
  for (const google::protobuf::FileDescriptor* file :
       {v1::AddCallerIdRequest::descriptor()->file(), v1::AddCreditRequest::descriptor()->file(),
        v1::ReserveRequest::descriptor()->file(), v1::GetCostReportRequest::descriptor()->file(),
        v1::ReadEventsRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int i = 0; i < service->method_count(); ++i) {
        const google::protobuf::MethodDescriptor* method = service->method(i);
        std::string label = method->name();
        // Method names are unique across the API; should two ever meet, qualify them.
        for (const std::string& taken : labels_) {
          if (taken == label) label = absl::StrCat(service->name(), "/", method->name());
        }
        Add(absl::StrCat("/", service->full_name(), "/", method->name()), std::move(label),
            method->client_streaming() || method->server_streaming());
      }
    }
  }
  Add("/grpc.health.v1.Health/Check", "Health/Check", false);
  Add("/grpc.health.v1.Health/Watch", "Health/Watch", true);
  Add("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      "ServerReflection/ServerReflectionInfo", true);
}

void RpcTable::Add(std::string path, std::string label, bool streaming) {
  by_path_.emplace(std::move(path), static_cast<int>(labels_.size()));
  labels_.push_back(std::move(label));
  streaming_.push_back(streaming);
}

int RpcTable::Find(std::string_view method_path) const {
  auto it = by_path_.find(absl::string_view(method_path.data(), method_path.size()));
  return it == by_path_.end() ? unknown() : it->second;
}

// ---------------------------------------------------------------------------------------
// The gauges, read from the ledger at scrape time.

class ServerMetrics::LedgerCollector : public prometheus::Collectable {
 public:
  void SetLedger(Ledger* ledger) {
    absl::MutexLock lock(&mu_);
    ledger_ = ledger;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    absl::MutexLock lock(&mu_);
    std::vector<prometheus::MetricFamily> families;
    families.push_back(GaugeFamily("ledger_ready",
                                   "1 while the ledger is loaded and serving; 0 while it "
                                   "loads or shuts down",
                                   ledger_ != nullptr ? 1 : 0));
    families.push_back(CpuFamilies());
    if (std::optional<uint64_t> resident = ResidentBytes()) {
      families.push_back(GaugeFamily("process_resident_memory_bytes",
                                     "ledgerd's resident memory (RSS), bytes: RocksDB's "
                                     "memtables and block cache, the in-memory state, gRPC",
                                     static_cast<double>(*resident)));
    }
    if (ledger_ == nullptr) return families;
    families.push_back(GaugeFamily("ledger_writes_accepted",
                                   "1 while writes are accepted; 0 after a storage failure "
                                   "(every write is then refused until a restart)",
                                   ledger_->WriteHealth().ok() ? 1 : 0));
    Committer* committer = ledger_->committer();
    families.push_back(GaugeFamily("ledger_commit_queue_depth",
                                   "Commands queued for the committer, not yet in a group",
                                   committer != nullptr ? committer->queue_depth() : 0));
    families.push_back(GaugeFamily("ledger_open_reservations",
                                   "Reservations open now (held, not settled, released or "
                                   "expired)",
                                   static_cast<double>(ledger_->open_reservations())));
    absl::StatusOr<v1::LicenseUsage> usage = ledger_->GetLicenseUsage({});
    if (usage.ok()) {
      families.push_back(GaugeFamily("ledger_active_callerids",
                                     "Enabled authorized CallerIDs: the ones the license counts",
                                     usage->active_callerids()));
      families.push_back(GaugeFamily("ledger_callerids",
                                     "Authorized CallerIDs, disabled ones included",
                                     usage->total_callerids()));
      families.push_back(GaugeFamily("ledger_license_max_active_callerids",
                                     "The license's limit of enabled CallerIDs",
                                     usage->max_active_callerids()));
    }
    families.push_back(GaugeFamily("ledger_last_event_sequence",
                                   "Sequence number of the last event in the log",
                                   static_cast<double>(ledger_->last_sequence())));
    families.push_back(GaugeFamily("ledger_write_ahead_log_bytes",
                                   "Bytes of write-ahead log a start after a crash would "
                                   "replay (about --max_wal_mib at most)",
                                   static_cast<double>(ledger_->write_ahead_log_bytes())));
    const Store::MemoryUsage memory = ledger_->storage_memory();
    families.push_back(LabelledGaugeFamily(
        "ledger_storage_memory_bytes",
        "What RocksDB holds in memory, by kind: memtables (rows not yet in table files), "
        "table_readers (index and filter blocks of the open table files), block_cache",
        "kind",
        {{"memtables", memory.memtables},
         {"table_readers", memory.table_readers},
         {"block_cache", memory.block_cache}}));
    families.push_back(LabelledGaugeFamily(
        "ledger_storage_table_file_bytes",
        "Bytes of RocksDB table files on disk, by column family: with "
        "ledger_write_ahead_log_bytes, what the data directory takes; it grows with every "
        "call taken (about 0.5 KB a call)",
        "family", ledger_->table_file_bytes()));
    return families;
  }

 private:
  // ledgerd's CPU by thread name (thread_cpu.h): the committer's, gRPC's pollers', ...
  prometheus::MetricFamily CpuFamilies() const {
    prometheus::MetricFamily family;
    family.name = "ledger_thread_cpu_seconds_total";
    family.help =
        "CPU time (user and system) ledgerd's threads have used, by thread name: "
        "ledger-commit near 1 second a second is the committer at a whole CPU";
    family.type = prometheus::MetricType::Counter;
    for (const auto& [name, seconds] : thread_cpu_.Totals()) {
      prometheus::ClientMetric metric;
      metric.label.push_back({"thread", name});
      metric.counter.value = seconds;
      family.metric.push_back(std::move(metric));
    }
    return family;
  }

  mutable absl::Mutex mu_;
  Ledger* ledger_ ABSL_GUARDED_BY(mu_) = nullptr;
  mutable ThreadCpu thread_cpu_;
};

// ---------------------------------------------------------------------------------------
// ServerMetrics

ServerMetrics::ServerMetrics(const RpcTable* rpcs)
    : rpcs_(rpcs),
      registry_(std::make_shared<prometheus::Registry>()),
      ledger_collector_(std::make_shared<LedgerCollector>()),
      request_counters_(new std::atomic<prometheus::Counter*>[rpcs->size() * kCodes]),
      latency_histograms_(new std::atomic<prometheus::Histogram*>[rpcs->size()]) {
  for (size_t i = 0; i < rpcs->size() * kCodes; ++i) request_counters_[i].store(nullptr);
  for (size_t i = 0; i < rpcs->size(); ++i) latency_histograms_[i].store(nullptr);
  requests_ = &prometheus::BuildCounter()
                   .Name("ledger_requests_total")
                   .Help("RPCs answered, by RPC and gRPC status code")
                   .Register(*registry_);
  latency_ = &prometheus::BuildHistogram()
                  .Name("ledger_request_duration_seconds")
                  .Help("Time from the start of a unary RPC to its answer, by RPC")
                  .Register(*registry_);
  group_size_ = &prometheus::BuildHistogram()
                     .Name("ledger_commit_group_size")
                     .Help("Commands per committer group (one synced write per group)")
                     .Register(*registry_)
                     .Add({}, GroupSizeBuckets());
  sync_seconds_ = &prometheus::BuildHistogram()
                       .Name("ledger_sync_duration_seconds")
                       .Help("Time to write and sync one group's WriteBatch")
                       .Register(*registry_)
                       .Add({}, SyncBuckets());
}

ServerMetrics::~ServerMetrics() {
  // Stops the HTTP threads before the metrics they read go away.
  exposer_.reset();
}

absl::Status ServerMetrics::Serve(const std::string& address) {
  if (exposer_ != nullptr) return absl::FailedPreconditionError("metrics are already served");
  std::string bind = address;
  if (absl::StartsWith(bind, "localhost:")) {
    bind = absl::StrCat("127.0.0.1:", bind.substr(std::string_view("localhost:").size()));
  }
  if (absl::StartsWith(bind, "unix:")) {
    return absl::InvalidArgumentError("metrics are served over TCP only, not on a unix socket");
  }
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(bind, /*num_threads=*/2);
  } catch (const std::exception& error) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " for metrics: ", error.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(ledger_collector_);
  return absl::OkStatus();
}

int ServerMetrics::port() const {
  if (exposer_ == nullptr) return 0;
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

prometheus::Counter* ServerMetrics::RequestCounter(int rpc, int code) {
  std::atomic<prometheus::Counter*>& slot = request_counters_[rpc * kCodes + code];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add is thread-safe and answers the same metric for the same labels.
    counter = &requests_->Add({{"rpc", rpcs_->label(rpc)}, {"code", CodeLabel(code)}});
    slot.store(counter, std::memory_order_release);
  }
  return counter;
}

prometheus::Histogram* ServerMetrics::LatencyHistogram(int rpc) {
  std::atomic<prometheus::Histogram*>& slot = latency_histograms_[rpc];
  prometheus::Histogram* histogram = slot.load(std::memory_order_acquire);
  if (histogram == nullptr) {
    histogram = &latency_->Add({{"rpc", rpcs_->label(rpc)}}, LatencyBuckets());
    slot.store(histogram, std::memory_order_release);
  }
  return histogram;
}

void ServerMetrics::RecordRequest(int rpc, grpc::StatusCode code, double seconds) {
  if (rpc < 0 || static_cast<size_t>(rpc) >= rpcs_->size()) rpc = rpcs_->unknown();
  int code_number = static_cast<int>(code);
  if (code_number < 0 || code_number >= kCodes) code_number = grpc::StatusCode::UNKNOWN;
  RequestCounter(rpc, code_number)->Increment();
  if (!rpcs_->streaming(rpc)) LatencyHistogram(rpc)->Observe(seconds);
}

void ServerMetrics::RecordGroup(const GroupStats& stats) {
  group_size_->Observe(static_cast<double>(stats.commands));
  if (stats.write_micros >= 0) sync_seconds_->Observe(stats.write_micros / 1e6);
}

void ServerMetrics::SetLedger(Ledger* ledger) { ledger_collector_->SetLedger(ledger); }

std::string ServerMetrics::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<prometheus::MetricFamily> gauges = ledger_collector_->Collect();
  families.insert(families.end(), std::make_move_iterator(gauges.begin()),
                  std::make_move_iterator(gauges.end()));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace callbackledger
