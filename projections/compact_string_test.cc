#include "projections/compact_string.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace callbackledger {
namespace {

using namespace std::string_view_literals;

TEST(CompactStringTest, KeepsUpToFifteenBytesInlineAndLongerTextOnTheHeap) {
  for (size_t size : {0, 1, 4, 14, 15, 16, 17, 20, 64, 1000}) {
    const std::string text(size, 'x');
    CompactString s(text);
    EXPECT_EQ(s.size(), size);
    EXPECT_EQ(s.empty(), size == 0);
    EXPECT_EQ(s.view(), text);
    EXPECT_EQ(s.str(), text);
    EXPECT_EQ(s.on_heap(), size > CompactString::kInlineCapacity) << size;
  }
  EXPECT_EQ(sizeof(CompactString), 16u);
}

TEST(CompactStringTest, HoldsAnyByteIncludingZerosAndTheHighestByte) {
  // 0xFF marks heap text in the last byte: inline text may still hold it anywhere.
  const std::string inline_text("a\0b\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 15);
  const std::string heap_text("\0\xff\x01 salt and hash bytes \xff", 25);
  EXPECT_EQ(CompactString(inline_text).view(), inline_text);
  EXPECT_FALSE(CompactString(inline_text).on_heap());
  EXPECT_EQ(CompactString(heap_text).view(), heap_text);
  EXPECT_TRUE(CompactString(heap_text).on_heap());
}

TEST(CompactStringTest, CopiesAreDeepAndOutliveTheOriginal) {
  for (const std::string text : {"+40791234567", "an order number longer than fifteen"}) {
    auto original = std::make_unique<CompactString>(text);
    CompactString copy(*original);
    CompactString assigned;
    assigned = *original;
    if (original->on_heap()) {
      EXPECT_NE(copy.data(), original->data());
      EXPECT_NE(assigned.data(), original->data());
    }
    *original = "changed";
    EXPECT_EQ(copy, text);
    EXPECT_EQ(assigned, text);
    original.reset();
    EXPECT_EQ(copy.view(), text);
    EXPECT_EQ(assigned.view(), text);
  }
}

TEST(CompactStringTest, MovesTakeTheTextAndLeaveTheSourceEmpty) {
  CompactString heap(std::string(40, 'h'));
  const char* text = heap.data();
  CompactString moved(std::move(heap));
  EXPECT_EQ(moved.data(), text);  // the heap text itself, not a copy
  EXPECT_EQ(moved, std::string(40, 'h'));
  EXPECT_TRUE(heap.empty());  // NOLINT(bugprone-use-after-move): what a move leaves
  EXPECT_FALSE(heap.on_heap());

  CompactString target("short");
  target = std::move(moved);
  EXPECT_EQ(target, std::string(40, 'h'));
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)

  // In a vector that grows, the values move and keep their text.
  std::vector<CompactString> values;
  for (int i = 0; i < 100; ++i) values.emplace_back(std::string(i % 30, 'a' + i % 26));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(values[i], std::string(i % 30, 'a' + i % 26));
}

TEST(CompactStringTest, AssigningItsOwnTextOrAPartOfItKeepsTheText) {
  CompactString heap(std::string("0123456789abcdefghijklmnopqrstuvwxyz"));
  CompactString& same = heap;
  heap = same;
  EXPECT_EQ(heap, "0123456789abcdefghijklmnopqrstuvwxyz");
  heap = heap.view().substr(10);
  EXPECT_EQ(heap, "abcdefghijklmnopqrstuvwxyz");
  heap = heap.view().substr(0, 3);  // from the heap to inline
  EXPECT_EQ(heap, "abc");
  EXPECT_FALSE(heap.on_heap());
  heap = heap.view().substr(1);
  EXPECT_EQ(heap, "bc");
  CompactString& alias = heap;
  heap = std::move(alias);  // a self-move leaves the value as it was
  EXPECT_EQ(heap, "bc");
}

TEST(CompactStringTest, ComparesWithStringsViewsAndLiterals) {
  const CompactString number("+40791234567");
  EXPECT_TRUE(number == "+40791234567");
  EXPECT_TRUE("+40791234567" == number);
  EXPECT_TRUE(number == std::string("+40791234567"));
  EXPECT_TRUE(std::string("+40791234567") == number);
  EXPECT_TRUE(number == "+40791234567"sv);
  EXPECT_TRUE("+40791234567"sv == number);
  EXPECT_TRUE(number != "+40791234568");
  EXPECT_TRUE(number != std::string("+4079123456"));
  EXPECT_FALSE(number != CompactString("+40791234567"));
  EXPECT_TRUE(CompactString("a") < CompactString("b"));
  EXPECT_FALSE(CompactString(std::string(20, 'b')) < CompactString("a"));
}

TEST(CompactStringTest, ClearEmptiesAndFreesHeapText) {
  CompactString s(std::string(30, 'z'));
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.on_heap());
  EXPECT_EQ(s, "");
}

}  // namespace
}  // namespace callbackledger
