#include "projections/rows.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

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

std::string CallKeyByExtension(std::string_view extension, int64_t started_micros,
                               uint64_t sequence) {
  std::string key = "e";
  key.append(extension);
  key.push_back('\0');
  return key + OrderedInt64(started_micros) + BigEndian64(sequence);
}

std::string CallKeyByCallerId(uint64_t callerid_id, int64_t started_micros, uint64_t sequence) {
  return "c" + BigEndian64(callerid_id) + OrderedInt64(started_micros) + BigEndian64(sequence);
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
  for (const auto& call : appended.calls) {
    call.SerializeToString(&value);
    int64_t started = ToUnixMicros(call.started_at());
    sink->Put(Cf::kCalls, CallKeyByExtension(call.extension(), started, call.sequence()), value);
    sink->Put(Cf::kCalls, CallKeyByCallerId(call.callerid_id(), started, call.sequence()), value);
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
