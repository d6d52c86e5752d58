#include "projections/rows.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "projections/projector.h"

namespace callbackledger {

const char* CfName(Cf cf) {
  switch (cf) {
    case Cf::kCallerIds:
      return "callerids";
    case Cf::kNumbers:
      return "numbers";
    case Cf::kExtensions:
      return "extensions";
    case Cf::kRecharges:
      return "recharges";
    case Cf::kIdempotency:
      return "idempotency";
    case Cf::kMeta:
      return "meta";
    case Cf::kReservations:
      return "reservations";
    case Cf::kCalls:
      return "calls";
    case Cf::kClosedReservations:
      return "closed_reservations";
    case Cf::kCallTotals:
      return "call_totals";
  }
  return "unknown";
}

std::string BigEndian64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return bytes;
}

uint64_t ReadBigEndian64(std::string_view bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::string RechargeKey(uint64_t callerid_id, uint64_t sequence) {
  return BigEndian64(callerid_id) + BigEndian64(sequence);
}

std::string OrderedInt64(int64_t value) {
  return BigEndian64(static_cast<uint64_t>(value) ^ (uint64_t{1} << 63));
}

int64_t ReadOrderedInt64(std::string_view bytes) {
  return static_cast<int64_t>(ReadBigEndian64(bytes) ^ (uint64_t{1} << 63));
}

bool ReadCallAmounts(std::string_view value, CallAmounts* amounts) {
  using google::protobuf::internal::WireFormatLite;
  using Row = store::v1::CallRow;
  *amounts = CallAmounts();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(value.data()),
                                            static_cast<int>(value.size()));
  while (const uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const bool varint = WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT;
    if (varint &&
        (field == Row::kDurationSecondsFieldNumber || field == Row::kCostMicrosFieldNumber ||
         field == Row::kUncollectedMicrosFieldNumber)) {
      uint64_t number = 0;
      if (!in.ReadVarint64(&number)) return false;
      if (field == Row::kDurationSecondsFieldNumber) {
        amounts->duration_seconds = number;
      } else if (field == Row::kCostMicrosFieldNumber) {
        amounts->cost_micros = static_cast<int64_t>(number);
      } else {
        amounts->uncollected_micros = static_cast<int64_t>(number);
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage();
}

std::string CallKeyPrefixByExtension(std::string_view extension) {
  std::string prefix = "e";
  prefix.append(extension);
  prefix.push_back('\0');
  return prefix;
}

std::string CallKeyPrefixByCallerId(uint64_t callerid_id) { return "c" + BigEndian64(callerid_id); }

std::string CallKeyByExtension(std::string_view extension, int64_t started_micros,
                               uint64_t sequence) {
  return CallKeyPrefixByExtension(extension) + OrderedInt64(started_micros) + BigEndian64(sequence);
}

std::string CallKeyByCallerId(uint64_t callerid_id, int64_t started_micros, uint64_t sequence) {
  return CallKeyPrefixByCallerId(callerid_id) + OrderedInt64(started_micros) +
         BigEndian64(sequence);
}

void CallTotals::Add(const CallAmounts& call) {
  ++calls;
  duration_seconds += call.duration_seconds;
  cost_micros += call.cost_micros;
  uncollected_micros += call.uncollected_micros;
}

void CallTotals::Add(const CallTotals& other) {
  calls += other.calls;
  duration_seconds += other.duration_seconds;
  cost_micros += other.cost_micros;
  uncollected_micros += other.uncollected_micros;
}

bool CallTotals::operator==(const CallTotals& other) const {
  return calls == other.calls && duration_seconds == other.duration_seconds &&
         cost_micros == other.cost_micros && uncollected_micros == other.uncollected_micros;
}

int64_t CallTotalsHour(int64_t micros) {
  int64_t rest = micros % kCallTotalsHourMicros;
  if (rest < 0) rest += kCallTotalsHourMicros;
  return micros - rest;
}

std::string CallTotalsKey(std::string_view prefix, int64_t hour_micros) {
  std::string key(prefix);
  key.append(OrderedInt64(hour_micros));
  return key;
}

namespace {

constexpr size_t kCallTotalsBytes = 48;

void AppendInt128(absl::int128 value, std::string* out) {
  out->append(BigEndian64(static_cast<uint64_t>(absl::Int128High64(value))));
  out->append(BigEndian64(absl::Int128Low64(value)));
}

absl::int128 ReadInt128(std::string_view bytes) {
  return absl::MakeInt128(static_cast<int64_t>(ReadBigEndian64(bytes)),
                          ReadBigEndian64(bytes.substr(8)));
}

}  // namespace

std::string EncodeCallTotals(const CallTotals& totals) {
  std::string value = BigEndian64(totals.calls) + BigEndian64(totals.duration_seconds);
  AppendInt128(totals.cost_micros, &value);
  AppendInt128(totals.uncollected_micros, &value);
  return value;
}

bool DecodeCallTotals(std::string_view value, CallTotals* totals) {
  if (value.size() != kCallTotalsBytes) return false;
  totals->calls = ReadBigEndian64(value);
  totals->duration_seconds = ReadBigEndian64(value.substr(8));
  totals->cost_micros = ReadInt128(value.substr(16));
  totals->uncollected_micros = ReadInt128(value.substr(32));
  return true;
}

bool MergeCallTotals(std::optional<std::string_view> existing, std::string_view operand,
                     std::string* merged) {
  CallTotals sum;
  CallTotals added;
  if (existing.has_value() && !DecodeCallTotals(*existing, &sum)) return false;
  if (!DecodeCallTotals(operand, &added)) return false;
  sum.Add(added);
  *merged = EncodeCallTotals(sum);
  return true;
}

bool MergeCallTotalsRow(std::map<std::string, std::string>* rows, std::string_view key,
                        std::string_view operand) {
  auto [it, added] = rows->try_emplace(std::string(key));
  std::optional<std::string_view> existing;
  if (!added) existing = it->second;
  std::string merged;
  if (!MergeCallTotals(existing, operand, &merged)) return false;
  it->second = std::move(merged);
  return true;
}

store::v1::CallerIdRow ToRow(const CallerIdState& callerid) {
  store::v1::CallerIdRow row;
  ToRow(callerid, &row);
  return row;
}

namespace {

// Copies into the field's own string, which keeps its room: no string in between.
void CopyInto(std::string* field, std::string_view text) {
  field->assign(text.data(), text.size());
}

}  // namespace

void ToRow(const CallerIdState& c, store::v1::CallerIdRow* out) {
  // Every field is set, none cleared first: a Clear would free the row's sub-messages (its
  // PIN and timestamps) for the next row to allocate again. The strings keep their memory.
  store::v1::CallerIdRow& row = *out;
  row.set_id(c.id);
  CopyInto(row.mutable_extension(), c.extension);
  CopyInto(row.mutable_callback_number(), c.callback_number);
  row.set_status(c.status);
  if (c.pin_set()) {
    CopyInto(row.mutable_pin()->mutable_salt(), c.pin_salt);
    CopyInto(row.mutable_pin()->mutable_hash(), c.pin_hash);
  } else {
    row.clear_pin();
  }
  row.set_unlimited(c.unlimited);
  row.set_total_credit_micros(c.total_credit_micros);
  row.set_credit_left_micros(c.credit_left_micros);
  row.set_held_micros(c.held_micros);
  SetFromUnixMicros(c.created_at_micros, row.mutable_created_at());
  SetFromUnixMicros(c.updated_at_micros, row.mutable_updated_at());
  CopyInto(row.mutable_order_no(), c.order_no);
  row.set_failed_pin_attempts(c.failed_pin_attempts);
  row.set_pin_locked(c.pin_locked);
  row.set_open_reservations(c.open_reservations);
}

CallerIdState FromRow(const store::v1::CallerIdRow& row) {
  CallerIdState c;
  c.id = row.id();
  c.extension = row.extension();
  c.callback_number = row.callback_number();
  c.status = row.status();
  c.pin_salt = row.pin().salt();
  c.pin_hash = row.pin().hash();
  c.unlimited = row.unlimited();
  c.total_credit_micros = row.total_credit_micros();
  c.credit_left_micros = row.credit_left_micros();
  c.held_micros = row.held_micros();
  c.created_at_micros = ToUnixMicros(row.created_at());
  c.updated_at_micros = ToUnixMicros(row.updated_at());
  c.order_no = row.order_no();
  c.failed_pin_attempts = row.failed_pin_attempts();
  c.pin_locked = row.pin_locked();
  c.open_reservations = row.open_reservations();
  return c;
}

store::v1::ExtensionRow ToRow(std::string_view extension, const ExtensionState& e) {
  store::v1::ExtensionRow row;
  row.set_extension(std::string(extension));
  row.set_max_active_callerids(e.max_active_callerids);
  row.set_min_credit_to_call_micros(e.min_credit_to_call_micros);
  row.set_active_callerids(e.active_callerids);
  row.set_total_callerids(e.total_callerids);
  return row;
}

ExtensionState FromRow(const store::v1::ExtensionRow& row) {
  ExtensionState e;
  e.max_active_callerids = row.max_active_callerids();
  e.min_credit_to_call_micros = row.min_credit_to_call_micros();
  e.active_callerids = row.active_callerids();
  e.total_callerids = row.total_callerids();
  return e;
}

store::v1::MetaRow ToRow(const MetaState& m) {
  store::v1::MetaRow row;
  row.set_last_sequence(m.last_sequence);
  row.set_last_callerid_id(m.last_callerid_id);
  row.set_active_callerids(m.active_callerids);
  row.set_total_callerids(m.total_callerids);
  return row;
}

MetaState FromRow(const store::v1::MetaRow& row) {
  MetaState m;
  m.last_sequence = row.last_sequence();
  m.last_callerid_id = row.last_callerid_id();
  m.active_callerids = row.active_callerids();
  m.total_callerids = row.total_callerids();
  return m;
}

namespace {

void PutNumber(std::string_view key, uint64_t id, RowSink* sink) {
  sink->Put(Cf::kNumbers, key, BigEndian64(id));
}

void PutExtension(std::string_view extension, const ExtensionState& e, RowSink* sink) {
  sink->Put(Cf::kExtensions, extension, ToRow(extension, e).SerializeAsString());
}

// Calls `emit` with every entry of a hash map keyed by string, in key order.
template <typename Map, typename Emit>
void ForEachInKeyOrder(const Map& map, Emit emit) {
  std::vector<const typename Map::value_type*> entries;
  entries.reserve(map.size());
  for (const auto& entry : map) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* entry : entries) emit(entry->first, entry->second);
}

}  // namespace

void EmitDelta(const Delta& delta, RowSink* sink) {
  // One row message and one value for all rows of a kind, reused: a group makes no
  // allocation a row once they have grown.
  std::string value;
  store::v1::CallerIdRow callerid_row;
  for (const auto& [id, callerid] : delta.callerids_) {
    if (callerid.has_value()) {
      ToRow(*callerid, &callerid_row);
      callerid_row.SerializeToString(&value);
      sink->Put(Cf::kCallerIds, BigEndian64(id), value);
    } else {
      sink->Delete(Cf::kCallerIds, BigEndian64(id));
    }
  }
  for (const auto& [key, value] : delta.numbers_) {
    if (value.has_value()) {
      PutNumber(key, *value, sink);
    } else {
      sink->Delete(Cf::kNumbers, key);
    }
  }
  for (const auto& [extension, value] : delta.extensions_) {
    if (value.has_value()) PutExtension(extension, *value, sink);
  }
  store::v1::IdempotencyRow row;
  for (const auto& [key, entry] : delta.idempotency_) {
    entry.ToRow(&row);
    row.SerializeToString(&value);
    sink->Put(Cf::kIdempotency, key, value);
  }
  for (const auto& [id, reservation] : delta.reservations_) {
    if (!IsOpen(reservation)) {
      // It moves: a start reads the reservations family whole, so that family keeps only
      // the open ones, however long the history. One the group looked up in the archive
      // has no row there to delete: it was opened in this group, or it was closed already
      // (a late Settle of an expired one).
      reservation.SerializeToString(&value);
      if (!delta.archived_reservations_.contains(id)) sink->Delete(Cf::kReservations, id);
      sink->Put(Cf::kClosedReservations, id, value);
    } else {
      reservation.SerializeToString(&value);
      sink->Put(Cf::kReservations, id, value);
    }
  }
  if (delta.meta_.has_value()) {
    sink->Put(Cf::kMeta, kMetaKey, ToRow(*delta.meta_).SerializeAsString());
  }
  EmitAppended(delta.appended_, sink);
}

void EmitReplayedState(const State& state, RowSink* sink) {
  // Every column family in key order (the CallerIDs are kept in it), which is what a
  // rebuild writes fastest. One row message and one value, reused: a million CallerIDs
  // make no allocation each.
  store::v1::CallerIdRow row;
  std::string value;
  state.callerids().ForEach([&](uint64_t id, const CallerIdState& callerid) {
    ToRow(callerid, &row);
    row.SerializeToString(&value);
    sink->Put(Cf::kCallerIds, BigEndian64(id), value);
  });
  ForEachInKeyOrder(state.extensions(), [sink](const std::string& key, const ExtensionState& e) {
    PutExtension(key, e, sink);
  });
  ForEachInKeyOrder(state.reservations(), [sink, &value](const std::string& id,
                                                         const ReservationState& reservation) {
    reservation.SerializeToString(&value);
    sink->Put(IsOpen(reservation) ? Cf::kReservations : Cf::kClosedReservations, id, value);
  });
  sink->Put(Cf::kMeta, kMetaKey, ToRow(state.meta()).SerializeAsString());
}

void EmitAppended(const AppendedRows& appended, RowSink* sink) {
  std::string value;
  for (const auto& row : appended.recharges) {
    row.SerializeToString(&value);
    sink->Put(Cf::kRecharges, RechargeKey(row.callerid_id(), row.sequence()), value);
  }
  // The extensions' hours, each added up over the group (or the replay's chunk) first: the
  // calls of a group are mostly of a few extensions, in one hour, which then take one merge
  // each.
  absl::flat_hash_map<std::string, CallTotals> hours;
  for (const auto& call : appended.calls) {
    call.SerializeToString(&value);
    const int64_t started = ToUnixMicros(call.started_at());
    const int64_t hour = CallTotalsHour(started);
    const std::string by_extension = CallKeyPrefixByExtension(call.extension());
    const std::string by_callerid = CallKeyPrefixByCallerId(call.callerid_id());
    const std::string suffix = OrderedInt64(started) + BigEndian64(call.sequence());
    sink->Put(Cf::kCalls, by_extension + suffix, value);
    sink->Put(Cf::kCalls, by_callerid + suffix, value);
    const CallAmounts amounts{call.duration_seconds(), call.cost_micros(),
                              call.uncollected_micros()};
    hours[CallTotalsKey(by_extension, hour)].Add(amounts);
  }
  for (const auto& [key, totals] : hours) {
    sink->Merge(Cf::kCallTotals, key, EncodeCallTotals(totals));
  }
  for (const auto& reservation : appended.reservations) {
    reservation.SerializeToString(&value);
    sink->Put(Cf::kClosedReservations, reservation.reservation_id(), value);
  }
  store::v1::IdempotencyRow row;
  appended.ForEachIdempotency([&](std::string_view key, const IdempotencyEntry& entry) {
    entry.ToRow(&row);
    row.SerializeToString(&value);
    sink->Put(Cf::kIdempotency, key, value);
  });
  appended.ForEachNumber([sink](std::string_view key, std::optional<uint64_t> id) {
    if (id.has_value()) {
      PutNumber(key, *id, sink);
    } else {
      sink->Delete(Cf::kNumbers, key);
    }
  });
}

}  // namespace callbackledger
