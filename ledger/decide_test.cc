// Direct tests of Decide: commands decided against a State and the Delta of the group
// being decided, built by applying events the way the committer does.
#include "ledger/decide.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "callbackledger/v1/events.pb.h"
#include "gtest/gtest.h"
#include "ledger/commands.h"
#include "projections/projector.h"
#include "projections/rows.h"
#include "projections/state.h"

namespace callbackledger {
namespace {

constexpr int64_t kNowMicros = 1700000000000000;
constexpr char kExt[] = "0003*005";
constexpr char kOtherExt[] = "0003*006";
constexpr int64_t kUnit = 1000000;  // micros per currency unit

Command AddCommand(const std::string& extension, const std::string& number,
                   v1::CallerId::Status status = v1::CallerId::ENABLED,
                   int64_t initial_credit_micros = 0) {
  AddCallerIdCommand add;
  add.extension = extension;
  add.callback_number = number;
  add.status = status;
  add.initial_credit_micros = initial_credit_micros;
  Command command;
  command.body = std::move(add);
  command.actor = "test";
  return command;
}

Command StatusCommand(uint64_t id, v1::CallerId::Status status) {
  UpdateCallerIdCommand update;
  update.callerid_id = id;
  update.status = status;
  Command command;
  command.body = std::move(update);
  return command;
}

Command NumberCommand(uint64_t id, const std::string& number) {
  UpdateCallerIdCommand update;
  update.callerid_id = id;
  update.callback_number = number;
  Command command;
  command.body = std::move(update);
  return command;
}

Command RemoveCommand(std::vector<uint64_t> ids) {
  RemoveCallerIdsCommand remove;
  remove.callerid_ids = std::move(ids);
  Command command;
  command.body = std::move(remove);
  return command;
}

Command CreditCommand(uint64_t id, int64_t amount_micros) {
  AddCreditCommand credit;
  credit.callerid_id = id;
  credit.amount_micros = amount_micros;
  Command command;
  command.body = std::move(credit);
  return command;
}

Command PolicyCommand(const std::string& extension, uint32_t max) {
  SetExtensionPolicyCommand policy;
  policy.extension = extension;
  policy.max_active_callerids = max;
  Command command;
  command.body = std::move(policy);
  return command;
}

// The stored projection rows, in maps: written as the committer writes a group's
// (EmitDelta), and read back as its archive reads what the State does not keep.
class StoredRows : public RowSink, public RowArchive {
 public:
  void Put(Cf cf, std::string_view key, std::string_view value) override {
    rows_[static_cast<int>(cf)][std::string(key)] = std::string(value);
  }
  void Delete(Cf cf, std::string_view key) override {
    rows_[static_cast<int>(cf)].erase(std::string(key));
  }
  void Merge(Cf cf, std::string_view key, std::string_view value) override {
    ASSERT_TRUE(MergeCallTotalsRow(&rows_[static_cast<int>(cf)], key, value));
  }

  absl::StatusOr<std::optional<ReservationState>> FindClosedReservation(
      std::string_view reservation_id) const override {
    const std::string* value = Find(Cf::kReservations, reservation_id);
    if (value == nullptr) return std::nullopt;
    ReservationState row;
    if (!row.ParseFromString(*value)) return absl::DataLossError("undecodable reservation");
    return row;
  }
  absl::StatusOr<std::optional<IdempotencyEntry>> FindStoredIdempotency(
      std::string_view key) const override {
    const std::string* value = Find(Cf::kIdempotency, key);
    if (value == nullptr) return std::nullopt;
    store::v1::IdempotencyRow row;
    std::optional<IdempotencyEntry> entry;
    if (row.ParseFromString(*value)) entry = IdempotencyEntry::FromRow(row);
    if (!entry.has_value()) return absl::DataLossError("undecodable idempotency row");
    return entry;
  }

 private:
  const std::string* Find(Cf cf, std::string_view key) const {
    const auto& rows = rows_[static_cast<int>(cf)];
    auto it = rows.find(std::string(key));
    return it == rows.end() ? nullptr : &it->second;
  }

  std::map<std::string, std::string> rows_[kProjectionCfCount];
};

class DecideTest : public ::testing::Test {
 protected:
  DecideTest() {
    rules_.license_max_active_callerids = 2;
    rules_.decimals = 2;
  }

  // Decides a command in the current group and, when it is accepted, applies its event to
  // the group's Delta as the committer does. Returns the decision.
  absl::StatusOr<Decided> DecideAndApply(const Command& command) {
    View view = this->view();
    absl::StatusOr<Decided> decided = Decide(view, command, rules_, kNowMicros);
    if (!decided.ok() || decided->replay_sequence != 0) return decided;
    for (v1::Event& event : decided->events) {
      event.set_sequence(view.meta().last_sequence + 1);
      *event.mutable_time() = FromUnixMicros(kNowMicros);
      event.set_actor(command.actor);
      if (!command.request_id.empty()) {
        event.set_request_id(command.request_id);
        event.set_request_fingerprint(command.fingerprint);
      }
      ApplyEvent(event, &view);
    }
    return decided;
  }

  // Ends the group: its rows are stored and the Delta is folded into the State.
  void Commit() {
    EmitDelta(delta_, &stored_);
    state_.Merge(&delta_);
  }

  // Decides a command that must be refused, and checks that deciding wrote nothing.
  absl::Status DecideRefused(const Command& command) {
    const bool was_empty = delta_.empty();
    View view = this->view();
    const uint64_t last = view.meta().last_sequence;
    absl::StatusOr<Decided> decided = Decide(view, command, rules_, kNowMicros);
    EXPECT_FALSE(decided.ok());
    EXPECT_EQ(view.meta().last_sequence, last);
    EXPECT_EQ(delta_.empty(), was_empty);
    return decided.status();
  }

  View view() { return View(&state_, nullptr, &delta_, &stored_); }

  // The one event an operator command records.
  static const v1::Event& OnlyEvent(const absl::StatusOr<Decided>& decided) {
    static const v1::Event* const kNone = new v1::Event();
    EXPECT_TRUE(decided.ok()) << decided.status();
    if (!decided.ok()) return *kNone;
    EXPECT_EQ(decided->events.size(), 1u);
    return decided->events.empty() ? *kNone : decided->events.front();
  }

  State state_;
  Delta delta_;
  StoredRows stored_;
  LedgerRules rules_;
};

TEST_F(DecideTest, AddAssignsTheNextIdAndRecordsTheCommand) {
  absl::StatusOr<Decided> decided =
      DecideAndApply(AddCommand(kExt, "5550001", v1::CallerId::DISABLED, 5 * kUnit));
  ASSERT_TRUE(decided.ok()) << decided.status();
  EXPECT_EQ(decided->replay_sequence, 0u);
  ASSERT_TRUE(OnlyEvent(decided).has_caller_id_added());
  const v1::CallerIdAdded& added = OnlyEvent(decided).caller_id_added();
  EXPECT_EQ(added.callerid_id(), 1u);
  EXPECT_EQ(added.extension(), kExt);
  EXPECT_EQ(added.callback_number(), "5550001");
  EXPECT_EQ(added.status(), v1::CallerId::DISABLED);
  EXPECT_EQ(added.initial_credit_micros(), 5 * kUnit);
  EXPECT_FALSE(added.has_pin());
  Commit();
  decided = DecideAndApply(AddCommand(kExt, "5550002"));
  ASSERT_TRUE(decided.ok()) << decided.status();
  EXPECT_EQ(OnlyEvent(decided).caller_id_added().callerid_id(), 2u);
}

TEST_F(DecideTest, SecondCommandOfAGroupSeesTheFirst) {
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550001")).ok());
  // Not committed: the State has not seen it, the View has.
  EXPECT_FALSE(state_.FindNumber(kExt, "5550001").has_value());
  EXPECT_TRUE(view().FindNumber(kExt, "5550001").has_value());

  absl::Status duplicate = DecideRefused(AddCommand(kExt, "5550001"));
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists) << duplicate;
  duplicate = DecideRefused(AddCommand(kExt, "5550001", v1::CallerId::DISABLED));
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists) << duplicate;

  absl::StatusOr<Decided> elsewhere = DecideAndApply(AddCommand(kOtherExt, "5550001"));
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  EXPECT_EQ(OnlyEvent(elsewhere).caller_id_added().callerid_id(), 2u);

  Commit();
  EXPECT_EQ(state_.FindNumber(kExt, "5550001"), std::optional<uint64_t>(1));
  EXPECT_EQ(state_.FindNumber(kOtherExt, "5550001"), std::optional<uint64_t>(2));
  EXPECT_EQ(state_.meta().last_sequence, 2u);
  EXPECT_EQ(DecideRefused(AddCommand(kExt, "5550001")).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(DecideTest, LicenseIsCountedWithinTheGroup) {
  // One enabled CallerID committed before the group; the license allows 2.
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550001")).ok());
  Commit();

  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550002")).ok());
  absl::Status third = DecideRefused(AddCommand(kOtherExt, "5550003"));
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted) << third;

  // Disabled ones still go in, but may not be enabled.
  absl::StatusOr<Decided> disabled =
      DecideAndApply(AddCommand(kOtherExt, "5550003", v1::CallerId::DISABLED));
  ASSERT_TRUE(disabled.ok()) << disabled.status();
  const uint64_t d = OnlyEvent(disabled).caller_id_added().callerid_id();
  EXPECT_EQ(DecideRefused(StatusCommand(d, v1::CallerId::ENABLED)).code(),
            absl::StatusCode::kResourceExhausted);

  // Disabling one in the same group frees its slot for the next command.
  ASSERT_TRUE(DecideAndApply(StatusCommand(1, v1::CallerId::DISABLED)).ok());
  ASSERT_TRUE(DecideAndApply(StatusCommand(d, v1::CallerId::ENABLED)).ok());
  EXPECT_EQ(DecideRefused(StatusCommand(1, v1::CallerId::ENABLED)).code(),
            absl::StatusCode::kResourceExhausted);
  // So does removing one.
  ASSERT_TRUE(DecideAndApply(RemoveCommand({2})).ok());
  ASSERT_TRUE(DecideAndApply(StatusCommand(1, v1::CallerId::ENABLED)).ok());

  EXPECT_EQ(view().meta().active_callerids, 2u);
  Commit();
  EXPECT_EQ(state_.meta().active_callerids, 2u);
  EXPECT_EQ(state_.meta().total_callerids, 2u);
}

TEST_F(DecideTest, ExtensionLimitSetInTheSameGroupApplies) {
  rules_.license_max_active_callerids = 100;
  ASSERT_TRUE(DecideAndApply(PolicyCommand(kExt, 1)).ok());
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550001")).ok());
  EXPECT_EQ(DecideRefused(AddCommand(kExt, "5550002")).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(DecideAndApply(AddCommand(kOtherExt, "5550002")).ok());
  EXPECT_TRUE(DecideAndApply(AddCommand(kExt, "5550002", v1::CallerId::DISABLED)).ok());
  ASSERT_TRUE(DecideAndApply(PolicyCommand(kExt, 0)).ok());
  EXPECT_TRUE(DecideAndApply(StatusCommand(3, v1::CallerId::ENABLED)).ok());
}

TEST_F(DecideTest, NumberChangesWithinTheGroup) {
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550001")).ok());
  ASSERT_TRUE(DecideAndApply(NumberCommand(1, "5550002")).ok());
  // The old number is free, the new one taken, in the same group.
  EXPECT_TRUE(DecideAndApply(AddCommand(kExt, "5550001")).ok());
  EXPECT_EQ(DecideRefused(AddCommand(kExt, "5550002")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(DecideRefused(NumberCommand(2, "5550002")).code(), absl::StatusCode::kAlreadyExists);
  // Its own number is no conflict.
  absl::StatusOr<Decided> same = DecideAndApply(NumberCommand(1, "5550002"));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_FALSE(OnlyEvent(same).caller_id_updated().has_callback_number());
}

TEST_F(DecideTest, RemovedInTheGroupIsNotFoundAfterwards) {
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550001", v1::CallerId::ENABLED, kUnit)).ok());
  Commit();
  ASSERT_TRUE(DecideAndApply(RemoveCommand({1})).ok());
  EXPECT_EQ(DecideRefused(CreditCommand(1, kUnit)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(DecideRefused(StatusCommand(1, v1::CallerId::DISABLED)).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(DecideRefused(RemoveCommand({1})).code(), absl::StatusCode::kNotFound);
  AddCreditCommand by_number;
  by_number.extension = kExt;
  by_number.callback_number = "5550001";
  by_number.amount_micros = kUnit;
  Command credit;
  credit.body = by_number;
  EXPECT_EQ(DecideRefused(credit).code(), absl::StatusCode::kNotFound);
  // The number is free again; the new CallerID gets a new id.
  absl::StatusOr<Decided> again = DecideAndApply(AddCommand(kExt, "5550001"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(OnlyEvent(again).caller_id_added().callerid_id(), 2u);
}

TEST_F(DecideTest, RemoveIsAllOrNone) {
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550001")).ok());
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550002")).ok());
  Commit();
  EXPECT_EQ(DecideRefused(RemoveCommand({1, 9, 2})).code(), absl::StatusCode::kNotFound);

  // A CallerID with an open reservation cannot be removed, nor the others with it.
  CallerIdState reserved = *state_.FindCallerId(2);
  reserved.credit_left_micros = 10 * kUnit;
  reserved.total_credit_micros = 10 * kUnit;
  reserved.held_micros = 2 * kUnit;
  reserved.open_reservations = 1;
  state_.LoadCallerId(reserved);
  absl::Status refused = DecideRefused(RemoveCommand({1, 2}));
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_TRUE(view().FindCallerId(1) != nullptr);

  absl::StatusOr<Decided> removed = DecideAndApply(RemoveCommand({1}));
  ASSERT_TRUE(removed.ok()) << removed.status();
  ASSERT_EQ(OnlyEvent(removed).caller_ids_removed().callerid_ids_size(), 1);
  EXPECT_EQ(OnlyEvent(removed).caller_ids_removed().callerid_ids(0), 1u);
}

TEST_F(DecideTest, CreditMayNotTakeAvailableCreditBelowZero) {
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550001", v1::CallerId::ENABLED, 10 * kUnit)).ok());
  Commit();
  // 8 of the 10 are held by a reservation: 2 are available.
  CallerIdState held = *state_.FindCallerId(1);
  held.held_micros = 8 * kUnit;
  held.open_reservations = 1;
  state_.LoadCallerId(held);

  EXPECT_EQ(DecideRefused(CreditCommand(1, -3 * kUnit)).code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Decided> decided = DecideAndApply(CreditCommand(1, -2 * kUnit));
  ASSERT_TRUE(decided.ok()) << decided.status();
  const v1::CreditAdded& credit = OnlyEvent(decided).credit_added();
  EXPECT_EQ(credit.amount_micros(), -2 * kUnit);
  EXPECT_EQ(credit.credit_left_micros(), 8 * kUnit);
  EXPECT_EQ(credit.total_credit_micros(), 8 * kUnit);
  EXPECT_FALSE(credit.unlimited());
  // The group's own change counts: nothing more is available.
  EXPECT_EQ(DecideRefused(CreditCommand(1, -1)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(view().FindCallerId(1)->available_micros(), 0);
}

TEST_F(DecideTest, UnlimitedCredit) {
  AddCallerIdCommand add;
  add.extension = kExt;
  add.callback_number = "5550001";
  add.unlimited = true;
  Command command;
  command.body = add;
  ASSERT_TRUE(DecideAndApply(command).ok());

  absl::StatusOr<Decided> positive = DecideAndApply(CreditCommand(1, 5 * kUnit));
  ASSERT_TRUE(positive.ok()) << positive.status();
  EXPECT_TRUE(OnlyEvent(positive).credit_added().unlimited());
  EXPECT_TRUE(view().FindCallerId(1)->unlimited);

  absl::StatusOr<Decided> negative = DecideAndApply(CreditCommand(1, -10 * kUnit));
  ASSERT_TRUE(negative.ok()) << negative.status();
  const v1::CreditAdded& credit = OnlyEvent(negative).credit_added();
  EXPECT_EQ(credit.amount_micros(), -10 * kUnit);
  EXPECT_FALSE(credit.unlimited());
  EXPECT_EQ(credit.credit_left_micros(), 0);
  EXPECT_EQ(credit.total_credit_micros(), 0);
  const CallerIdState* after = view().FindCallerId(1);
  EXPECT_FALSE(after->unlimited);
  EXPECT_EQ(after->credit_left_micros, 0);
  EXPECT_EQ(DecideRefused(CreditCommand(1, -1)).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DecideTest, RequestIdWithinTheGroupAndAcrossGroups) {
  Command first = AddCommand(kExt, "5550001");
  first.request_id = "req-1";
  first.fingerprint = "fingerprint-a";
  absl::StatusOr<Decided> decided = DecideAndApply(first);
  ASSERT_TRUE(decided.ok()) << decided.status();
  const uint64_t sequence = OnlyEvent(decided).sequence();

  // A retry in the same group points at the first event and decides no new one.
  absl::StatusOr<Decided> retry = DecideAndApply(first);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->replay_sequence, sequence);
  EXPECT_TRUE(retry->events.empty());
  EXPECT_EQ(view().meta().last_sequence, sequence);

  Command reused = AddCommand(kExt, "5550002");
  reused.request_id = "req-1";
  reused.fingerprint = "fingerprint-b";
  EXPECT_EQ(DecideRefused(reused).code(), absl::StatusCode::kAlreadyExists);

  // The key is the RPC's: AddCredit may use the same request_id.
  Command credit = CreditCommand(1, kUnit);
  credit.request_id = "req-1";
  credit.fingerprint = "fingerprint-c";
  absl::StatusOr<Decided> credited = DecideAndApply(credit);
  ASSERT_TRUE(credited.ok()) << credited.status();
  EXPECT_EQ(credited->replay_sequence, 0u);

  Commit();
  retry = DecideAndApply(first);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->replay_sequence, sequence);
  EXPECT_TRUE(delta_.empty());
  EXPECT_EQ(DecideRefused(reused).code(), absl::StatusCode::kAlreadyExists);

  // A retry is answered from the key before any rule: even at the license limit.
  rules_.license_max_active_callerids = 1;
  retry = DecideAndApply(first);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->replay_sequence, sequence);
}

TEST_F(DecideTest, UnknownCallerIdIsNotFound) {
  EXPECT_EQ(DecideRefused(StatusCommand(7, v1::CallerId::DISABLED)).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(DecideRefused(CreditCommand(7, kUnit)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(DecideRefused(RemoveCommand({7})).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(delta_.empty());
}

// A group decided while the one before it is still being written (its Delta pending, not
// in the State nor in the State's indexes) sees the reservations that group opened.
TEST_F(DecideTest, SyncAndExpireSeeTheReservationsOfThePendingGroup) {
  ASSERT_TRUE(DecideAndApply(AddCommand(kExt, "5550001", v1::CallerId::ENABLED, 10 * kUnit)).ok());
  Commit();
  ReserveCommand reserve;
  reserve.reservation_id = "r1";
  reserve.extension = kExt;
  reserve.callback_number = "5550001";
  reserve.amount_micros = kUnit;
  reserve.ttl_seconds = 60;
  reserve.node_id = "node-1";
  Command opening;
  opening.body = reserve;
  ASSERT_TRUE(DecideAndApply(opening).ok());  // delta_ is now the pending group's
  ASSERT_EQ(state_.FindReservation("r1"), nullptr);

  Delta own;
  View next(&state_, &delta_, &own);
  SyncReservationsCommand sync;
  sync.node_id = "node-1";
  Command syncing;
  syncing.body = sync;
  absl::StatusOr<Decided> orphaned = Decide(next, syncing, rules_, kNowMicros);
  ASSERT_TRUE(orphaned.ok()) << orphaned.status();
  ASSERT_EQ(orphaned->events.size(), 1u);
  EXPECT_EQ(orphaned->events[0].reservation_released().reservation_id(), "r1");
  EXPECT_EQ(orphaned->events[0].reservation_released().reason(), v1::ReservationReleased::ORPHANED);

  Command expiring;
  expiring.body = ExpireCommand{};
  absl::StatusOr<Decided> early = Decide(next, expiring, rules_, kNowMicros + 59 * kUnit);
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_TRUE(early->events.empty());
  absl::StatusOr<Decided> expired = Decide(next, expiring, rules_, kNowMicros + 60 * kUnit);
  ASSERT_TRUE(expired.ok()) << expired.status();
  ASSERT_EQ(expired->events.size(), 1u);
  EXPECT_EQ(expired->events[0].reservation_released().reason(), v1::ReservationReleased::EXPIRED);
  EXPECT_TRUE(own.empty()) << "deciding wrote";
}

}  // namespace
}  // namespace callbackledger
