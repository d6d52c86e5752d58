// CSV as ledgerctl writes it (RFC 4180 quoting) and reads it (quoted fields, line numbers,
// and a message for each malformed row).
#include "clients/ledgerctl/csv.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

TEST(CsvTest, QuotesFieldsAsRfc4180Says) {
  EXPECT_EQ(ctl::CsvField("plain"), "plain");
  EXPECT_EQ(ctl::CsvField(""), "");
  EXPECT_EQ(ctl::CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(ctl::CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(ctl::CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(ctl::CsvField("cr\r"), "\"cr\r\"");
  EXPECT_EQ(ctl::CsvField("ünïcode – ok"), "ünïcode – ok");
  EXPECT_EQ(ctl::CsvRecord({"a", "b,c", ""}), "a,\"b,c\",\r\n");
}

TEST(CsvTest, ReaderReadsQuotedFieldsAndCountsLines) {
  char path[] = "/tmp/ledgerctl_csv_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  WriteFile(path,
            "\xEF\xBB\xBFh1,h2\r\n"         // line 1, with a byte order mark
            "\"a,b\",\"say \"\"hi\"\"\"\n"  // line 2
            "\"two\r\nlines\",x\r\n"        // lines 3-4
            "\r\n"                          // line 5: blank
            "bad\"quote,y\n"                // line 6
            "\"after\"x,z\n"                // line 7
            "\xEF\xBD\x86ull,width\n"       // line 8: starts like a BOM, is not one
            "\"open,end\n");                // line 9: never closed
  std::FILE* in = std::fopen(path, "rb");
  ASSERT_NE(in, nullptr);
  ctl::CsvReader reader(in);
  ctl::CsvRow row;
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(row.line, 1u);
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"a,b", "say \"hi\""}));
  EXPECT_EQ(row.line, 2u);
  EXPECT_EQ(row.error, "");
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"two\r\nlines", "x"}));
  EXPECT_EQ(row.line, 3u);
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_TRUE(row.blank());
  EXPECT_EQ(row.line, 5u);
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 6u);
  EXPECT_THAT(row.error, HasSubstr("double quote"));
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 7u);
  EXPECT_THAT(row.error, HasSubstr("after its closing quote"));
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 8u);
  EXPECT_EQ(row.fields, (std::vector<std::string>{"\xEF\xBD\x86ull", "width"}));
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 9u);
  EXPECT_THAT(row.error, HasSubstr("closing quote is missing"));
  EXPECT_FALSE(reader.Next(&row));
  std::fclose(in);
  std::remove(path);
}

}  // namespace
}  // namespace callbackledger
