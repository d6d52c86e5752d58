// ListCallerIds through the public Ledger facade: pages in id order, searches by extension,
// number and status, their counts, and how a listing holds the readers' lock a few
// CallerIDs at a time (LedgerOptions::list_scan_chunk).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/testing/ledger_test_base.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;

using testing::ExpectInvalid;
using testing::kExt;
using testing::kOtherExt;
using testing::LedgerTest;

TEST_F(LedgerTest, ListCallerIdsPagesInIdOrder) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 25; ++i) {
    // Interleave another extension so that the ids of kExt are not contiguous.
    if (i % 5 == 0) AddOk(absl::StrCat("444", 1000 + i), "", kOtherExt);
    ids.push_back(AddOk(absl::StrCat("555", 1000 + i)));
  }
  std::vector<uint64_t> seen;
  std::string token;
  std::vector<int> sizes;
  do {
    absl::StatusOr<v1::ListCallerIdsResponse> page =
        List(kExt, "", v1::CallerId::STATUS_UNSPECIFIED, 10, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->total_size(), 25u);
    sizes.push_back(page->caller_ids_size());
    for (const v1::CallerId& c : page->caller_ids()) {
      EXPECT_EQ(c.extension(), kExt);
      seen.push_back(c.id());
    }
    token = page->next_page_token();
    ASSERT_LT(sizes.size(), 10u);
  } while (!token.empty());
  EXPECT_THAT(sizes, ElementsAre(10, 10, 5));
  EXPECT_EQ(seen, ids);

  // All extensions.
  absl::StatusOr<v1::ListCallerIdsResponse> all =
      List("", "", v1::CallerId::STATUS_UNSPECIFIED, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total_size(), 30u);
  ASSERT_EQ(all->caller_ids_size(), 30);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(all->caller_ids(i).id(), static_cast<uint64_t>(i + 1));
  EXPECT_EQ(all->next_page_token(), "");
  absl::StatusOr<v1::ListCallerIdsResponse> def = List("");
  EXPECT_EQ(def->caller_ids_size(), 30);  // page_size 0 means 100
}

// A listing holds the readers' lock for a few CallerIDs at a time
// (LedgerOptions::list_scan_chunk). Whatever that chunk, every search pages through exactly
// the CallerIDs that match, in id order, across removed ids, and total_size counts them all
// on every page. The expected answers come from reading each CallerID by its id.
TEST_F(LedgerTest, ListingsPageThroughEveryMatchWhateverTheScanChunk) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 24; ++i) {
    v1::AddCallerIdRequest request = AddRequest(
        absl::StrCat(i % 3 == 0 ? "+4155" : "0721", 100 + i), "", i % 2 == 0 ? kExt : kOtherExt);
    if (i % 4 == 1) request.set_status(v1::CallerId::DISABLED);
    ids.push_back(AddOk(request));
  }
  ASSERT_TRUE(Remove({ids[3], ids[4], ids[5], ids[6], ids[17]}).ok());
  std::vector<v1::CallerId> held;
  for (uint64_t id : ids) {
    absl::StatusOr<v1::CallerId> callerid = Get(id);
    if (callerid.ok()) held.push_back(*callerid);
  }
  ASSERT_EQ(held.size(), 19u);

  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{8192}}) {
    options_.list_scan_chunk = chunk;
    Reopen();
    for (const std::string extension : {"", kExt, kOtherExt, "0003*007"}) {
      for (const std::string number : {"", "4155", "0721", "9"}) {
        for (v1::CallerId::Status status :
             {v1::CallerId::STATUS_UNSPECIFIED, v1::CallerId::ENABLED, v1::CallerId::DISABLED}) {
          std::vector<uint64_t> expected;
          for (const v1::CallerId& c : held) {
            if ((extension.empty() || c.extension() == extension) &&
                c.callback_number().find(number) != std::string::npos &&
                (status == v1::CallerId::STATUS_UNSPECIFIED || c.status() == status)) {
              expected.push_back(c.id());
            }
          }
          for (int page_size : {1, 4, 1000}) {
            SCOPED_TRACE(absl::StrCat("chunk ", chunk, ", extension '", extension, "', number '",
                                      number, "', status ", status, ", page_size ", page_size));
            std::vector<uint64_t> listed;
            std::string token;
            int pages = 0;
            do {
              absl::StatusOr<v1::ListCallerIdsResponse> page =
                  List(extension, number, status, page_size, token);
              ASSERT_TRUE(page.ok()) << page.status();
              EXPECT_EQ(page->total_size(), expected.size());
              EXPECT_LE(page->caller_ids_size(), page_size);
              for (const v1::CallerId& c : page->caller_ids()) listed.push_back(c.id());
              token = page->next_page_token();
              ASSERT_LE(++pages, 25);
            } while (!token.empty());
            EXPECT_EQ(listed, expected);
          }
        }
      }
    }
  }
}

// A search by number counts its matches over every CallerID on its first page only; its
// page tokens carry the count. So a match added while the search is paged through shows on
// a later page but not in the count, which a new search has; a search's token is refused
// for another search, and a plain listing's for a search.
TEST_F(LedgerTest, ASearchsPagesCarryTheCountItsFirstPageMade) {
  const uint64_t a = AddOk("0791000001");
  const uint64_t b = AddOk("0791000002");
  AddOk("0211000003");
  absl::StatusOr<v1::ListCallerIdsResponse> first =
      List("", "0791", v1::CallerId::STATUS_UNSPECIFIED, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->total_size(), 2u);
  ASSERT_EQ(first->caller_ids_size(), 1);
  EXPECT_EQ(first->caller_ids(0).id(), a);

  const uint64_t c = AddOk("0791000004");
  std::vector<uint64_t> seen = {a};
  std::string token = first->next_page_token();
  for (int pages = 1; !token.empty(); ++pages) {
    ASSERT_LT(pages, 10);
    absl::StatusOr<v1::ListCallerIdsResponse> page =
        List("", "0791", v1::CallerId::STATUS_UNSPECIFIED, 1, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->total_size(), 2u);
    for (const v1::CallerId& callerid : page->caller_ids()) seen.push_back(callerid.id());
    token = page->next_page_token();
  }
  EXPECT_THAT(seen, ElementsAre(a, b, c));
  EXPECT_EQ(List("", "0791")->total_size(), 3u);

  ExpectInvalid(
      List("", "0211", v1::CallerId::STATUS_UNSPECIFIED, 1, first->next_page_token()).status(),
      "page_token");
  ExpectInvalid(
      List(kExt, "0791", v1::CallerId::STATUS_UNSPECIFIED, 1, first->next_page_token()).status(),
      "page_token");
  absl::StatusOr<v1::ListCallerIdsResponse> plain =
      List("", "", v1::CallerId::STATUS_UNSPECIFIED, 1);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ExpectInvalid(
      List("", "0791", v1::CallerId::STATUS_UNSPECIFIED, 1, plain->next_page_token()).status(),
      "page_token");
}

TEST_F(LedgerTest, ListCallerIdsSearches) {
  uint64_t a = AddOk("+41791234567");
  uint64_t b = AddOk("0791234567");
  v1::AddCallerIdRequest disabled = AddRequest("0315550000");
  disabled.set_status(v1::CallerId::DISABLED);
  uint64_t c = AddOk(disabled);
  uint64_t d = AddOk("912345", "", kOtherExt);

  auto ids = [](const absl::StatusOr<v1::ListCallerIdsResponse>& response) {
    std::vector<uint64_t> out;
    EXPECT_TRUE(response.ok()) << response.status();
    if (response.ok()) {
      for (const v1::CallerId& callerid : response->caller_ids()) out.push_back(callerid.id());
      EXPECT_EQ(response->total_size(), out.size());
    }
    return out;
  };
  EXPECT_THAT(ids(List(kExt, "91234")), ElementsAre(a, b));
  EXPECT_THAT(ids(List("", "91234")), ElementsAre(a, b, d));
  EXPECT_THAT(ids(List(kExt, "+41")), ElementsAre(a));
  EXPECT_THAT(ids(List(kExt, "555")), ElementsAre(c));
  EXPECT_THAT(ids(List(kExt, "", v1::CallerId::DISABLED)), ElementsAre(c));
  EXPECT_THAT(ids(List(kExt, "", v1::CallerId::ENABLED)), ElementsAre(a, b));
  EXPECT_THAT(ids(List(kExt, "0", v1::CallerId::DISABLED)), ElementsAre(c));
  EXPECT_THAT(ids(List(kExt, "88888")), ElementsAre());
  EXPECT_THAT(ids(List("9999")), ElementsAre());

  // total_size counts every match, not the page.
  absl::StatusOr<v1::ListCallerIdsResponse> page =
      List(kExt, "1234", v1::CallerId::STATUS_UNSPECIFIED, 1);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->caller_ids_size(), 1);
  EXPECT_EQ(page->total_size(), 2u);
  EXPECT_FALSE(page->next_page_token().empty());

  ExpectInvalid(List(kExt, "12a").status(), "callback_number");
  ExpectInvalid(List(kExt, "", static_cast<v1::CallerId::Status>(5)).status(), "status");
  ExpectInvalid(List(kExt, "", v1::CallerId::STATUS_UNSPECIFIED, -1).status(), "page_size");
  ExpectInvalid(List(kExt, "", v1::CallerId::STATUS_UNSPECIFIED, 1001).status(), "page_size");
  ExpectInvalid(List(kExt, "", v1::CallerId::STATUS_UNSPECIFIED, 10, "bogus").status(),
                "page_token");
  ExpectInvalid(List("bad ext").status(), "extension");
}

}  // namespace
}  // namespace callbackledger
