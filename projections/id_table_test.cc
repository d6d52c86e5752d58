#include "projections/id_table.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<std::pair<uint64_t, std::string>> Contents(const IdTable<std::string>& table) {
  std::vector<std::pair<uint64_t, std::string>> contents;
  table.ForEach([&](uint64_t id, const std::string& value) { contents.emplace_back(id, value); });
  return contents;
}

TEST(IdTableTest, FindsInsertsAssignsAndErasesById) {
  IdTable<std::string> table;
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Find(1), nullptr);
  EXPECT_TRUE(table.InsertOrAssign(2, "two"));
  EXPECT_TRUE(table.InsertOrAssign(1, "one"));
  EXPECT_FALSE(table.InsertOrAssign(2, "TWO"));
  EXPECT_EQ(table.size(), 2u);
  ASSERT_NE(table.Find(2), nullptr);
  EXPECT_EQ(*table.Find(2), "TWO");
  EXPECT_EQ(table.Find(3), nullptr);
  EXPECT_EQ(table.Find(0), nullptr);
  EXPECT_TRUE(table.Erase(1));
  EXPECT_FALSE(table.Erase(1));
  EXPECT_FALSE(table.Erase(99));
  EXPECT_EQ(table.Find(1), nullptr);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_THAT(Contents(table), ElementsAre(Pair(2, "TWO")));
  table.Clear();
  EXPECT_TRUE(table.empty());
  EXPECT_THAT(Contents(table), ElementsAre());
}

TEST(IdTableTest, AnErasedOrClearedIdLetsGoOfItsValue) {
  IdTable<std::shared_ptr<int>> table;
  auto near = std::make_shared<int>(1);
  auto far = std::make_shared<int>(2);
  table.InsertOrAssign(3, near);
  table.InsertOrAssign(3 + IdTable<std::shared_ptr<int>>::kMaxGap + 10, far);
  EXPECT_EQ(near.use_count(), 2);
  EXPECT_TRUE(table.Erase(3));
  EXPECT_EQ(near.use_count(), 1);  // not kept in the vector's slot
  EXPECT_FALSE(table.Erase(3));
  EXPECT_EQ(table.Find(3), nullptr);
  EXPECT_EQ(table.size(), 1u);

  table.InsertOrAssign(3, near);
  table.Clear();
  EXPECT_EQ(near.use_count(), 1);
  EXPECT_EQ(far.use_count(), 1);
  EXPECT_TRUE(table.empty());
}

// An id far beyond the others (only a damaged log could hold one) is kept like any other,
// and the ids still come out in ascending order around it.
TEST(IdTableTest, AFarIdIsKeptAndTheOrderHolds) {
  IdTable<std::string> table;
  const uint64_t far = uint64_t{1} << 62;
  const uint64_t gap = IdTable<std::string>::kMaxGap;
  table.InsertOrAssign(1, "a");
  table.InsertOrAssign(far, "far");
  table.InsertOrAssign(2, "b");
  table.InsertOrAssign(far + 1, "far+1");
  table.InsertOrAssign(gap * 3, "3 gaps");
  table.InsertOrAssign(3, "c");
  table.InsertOrAssign(UINT64_MAX, "max");
  table.InsertOrAssign(0, "zero");
  EXPECT_THAT(Contents(table), ElementsAre(Pair(0, "zero"), Pair(1, "a"), Pair(2, "b"),
                                           Pair(3, "c"), Pair(gap * 3, "3 gaps"), Pair(far, "far"),
                                           Pair(far + 1, "far+1"), Pair(UINT64_MAX, "max")));
  EXPECT_EQ(table.size(), 8u);
  ASSERT_NE(table.Find(UINT64_MAX), nullptr);
  EXPECT_EQ(*table.Find(UINT64_MAX), "max");
  EXPECT_EQ(table.Find(far - 1), nullptr);
  EXPECT_TRUE(table.Erase(far));
  EXPECT_EQ(table.Find(far), nullptr);
  EXPECT_EQ(table.size(), 7u);
}

// Against std::map, over random changes to ids near, beyond the gap, and far.
TEST(IdTableTest, AgreesWithAnOrderedMap) {
  std::mt19937_64 random(7);
  IdTable<std::string> table;
  std::map<uint64_t, std::string> expected;
  const uint64_t gap = IdTable<std::string>::kMaxGap;
  for (int i = 0; i < 20000; ++i) {
    uint64_t id;
    switch (random() % 4) {
      case 0:
      case 1:
        id = random() % 2000;
        break;
      case 2:
        id = 2000 + gap + random() % (4 * gap);
        break;
      default:
        id = random();
        break;
    }
    if (random() % 3 == 0) {
      EXPECT_EQ(table.Erase(id), expected.erase(id) == 1) << id;
    } else {
      const std::string value = std::to_string(i);
      EXPECT_EQ(table.InsertOrAssign(id, value), !expected.count(id)) << id;
      expected[id] = value;
    }
    const std::string* found = table.Find(id);
    auto it = expected.find(id);
    ASSERT_EQ(found != nullptr, it != expected.end()) << id;
    if (found != nullptr) {
      EXPECT_EQ(*found, it->second);
    }
  }
  EXPECT_EQ(table.size(), expected.size());
  std::vector<std::pair<uint64_t, std::string>> all(expected.begin(), expected.end());
  EXPECT_EQ(Contents(table), all);
  // Visited a few ids at a time, from 0 and from ids held or not, the ids come out as the
  // map's from the same point.
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{1000}}) {
    for (uint64_t first : {uint64_t{0}, uint64_t{1000}, all[all.size() / 2].first, gap * 2}) {
      std::vector<std::pair<uint64_t, std::string>> visited;
      std::optional<uint64_t> next = first;
      while (next.has_value()) {
        next = table.VisitFrom(*next, chunk, [&](uint64_t id, const std::string& value) {
          visited.emplace_back(id, value);
          return true;
        });
      }
      const std::vector<std::pair<uint64_t, std::string>> from(expected.lower_bound(first),
                                                               expected.end());
      EXPECT_EQ(visited, from) << "chunks of " << chunk << " from " << first;
    }
  }
}

// VisitFrom stops where the visitor says, and goes on from the next id; a bound on the ids
// looked at counts the empty slots too, so that a scan of removed ids is bounded as well.
TEST(IdTableTest, AVisitStopsWhereTheVisitorSaysAndGoesOnFromThere) {
  IdTable<std::string> table;
  const uint64_t far = uint64_t{1} << 62;
  for (uint64_t id : {uint64_t{1}, uint64_t{2}, uint64_t{5}, far, UINT64_MAX}) {
    table.InsertOrAssign(id, std::to_string(id));
  }
  std::vector<uint64_t> ids;
  auto until = [&](uint64_t last) {
    return [&ids, last](uint64_t id, const std::string&) {
      ids.push_back(id);
      return id != last;
    };
  };
  EXPECT_EQ(table.VisitFrom(0, 100, until(2)), std::optional<uint64_t>(3));
  EXPECT_THAT(ids, ElementsAre(1, 2));
  ids.clear();
  // Slots 3 and 4 are empty: two ids looked at, none visited.
  EXPECT_EQ(table.VisitFrom(3, 2, until(0)), std::optional<uint64_t>(5));
  EXPECT_THAT(ids, ElementsAre());
  EXPECT_EQ(table.VisitFrom(5, 100, until(far)), std::optional<uint64_t>(far + 1));
  EXPECT_THAT(ids, ElementsAre(5, far));
  ids.clear();
  EXPECT_EQ(table.VisitFrom(far + 1, 100, until(UINT64_MAX)), std::nullopt);
  EXPECT_THAT(ids, ElementsAre(UINT64_MAX));
  ids.clear();
  EXPECT_EQ(table.VisitFrom(6, 100, until(0)), std::nullopt);
  EXPECT_THAT(ids, ElementsAre(far, UINT64_MAX));
}

}  // namespace
}  // namespace callbackledger
