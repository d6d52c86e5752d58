#include "projections/dense_string_map.h"

#include <map>
#include <random>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace callbackledger {
namespace {

TEST(DenseStringMapTest, FindsInsertsAssignsAndErases) {
  DenseStringMap<int> map;
  EXPECT_EQ(map.Find("a"), nullptr);
  map.InsertOrAssign("a", 1);
  map.InsertOrAssign("a key longer than any small string buffer", 2);
  ASSERT_NE(map.Find("a"), nullptr);
  EXPECT_EQ(*map.Find("a"), 1);
  EXPECT_EQ(*map.Find("a key longer than any small string buffer"), 2);
  map.InsertOrAssign("a", 3);
  EXPECT_EQ(*map.Find("a"), 3);
  EXPECT_EQ(map.size(), 2u);
  EXPECT_TRUE(map.Erase("a"));
  EXPECT_FALSE(map.Erase("a"));
  EXPECT_EQ(map.Find("a"), nullptr);
  EXPECT_EQ(*map.Find("a key longer than any small string buffer"), 2);
  EXPECT_EQ(map.size(), 1u);
  map.Clear();
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.Find("a key longer than any small string buffer"), nullptr);
}

TEST(DenseStringMapTest, AgreesWithAnOrderedMapThroughRandomChanges) {
  // Erasing moves the last entry into the hole: every key must still be found, with its
  // own value, through growth, reservation and erasure in any order.
  DenseStringMap<uint64_t> map;
  std::map<std::string, uint64_t> model;
  std::mt19937_64 random(7);
  map.Reserve(100);
  for (int step = 0; step < 20000; ++step) {
    // Keys of 11 to 18 bytes: kept in their entries up to 15, on the heap beyond.
    const std::string extension = random() % 2 == 0 ? "100" : "1000000";
    std::string key = extension + std::string(1, '\0') + "+40721" + std::to_string(random() % 3000);
    if (random() % 4 == 0) {
      EXPECT_EQ(map.Erase(key), model.erase(key) == 1) << key;
    } else {
      uint64_t value = random();
      map.InsertOrAssign(key, value);
      model[key] = value;
    }
  }
  ASSERT_EQ(map.size(), model.size());
  for (const auto& [key, value] : model) {
    const uint64_t* found = map.Find(key);
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(*found, value) << key;
  }
  size_t seen = 0;
  map.ForEach([&](std::string_view key, uint64_t value) {
    ++seen;
    EXPECT_EQ(model.at(std::string(key)), value);
  });
  EXPECT_EQ(seen, model.size());
}

}  // namespace
}  // namespace callbackledger
