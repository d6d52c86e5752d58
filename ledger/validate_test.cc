#include "ledger/validate.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// A byte string that may contain NULs.
template <size_t N>
std::string_view Bytes(const char (&s)[N]) {
  return std::string_view(s, N - 1);
}

struct RejectCase {
  std::string_view input;
  // A part of the message that says what is wrong.
  std::string_view problem;
};

void ExpectInvalid(const absl::Status& status, std::string_view field, std::string_view problem) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(Message(status), StartsWith(std::string(field) + ": "));
  EXPECT_THAT(Message(status), HasSubstr(std::string(problem)));
}

// ---------------------------------------------------------------------------------------
// ValidateExtension

TEST(ValidateExtensionTest, AcceptsValidExtensions) {
  const std::vector<std::string_view> cases = {
      "1",
      "0003*005",
      "a",
      "Z",
      "*",
      "#",
      "-",
      "_",
      ".",
      "abcXYZ019*#-_.",
      "sip.trunk-1_a#",
      "00000000000000000000000000000000",  // 32 characters.
  };
  for (std::string_view extension : cases) {
    SCOPED_TRACE(extension);
    EXPECT_TRUE(ValidateExtension(extension).ok()) << ValidateExtension(extension);
  }
}

TEST(ValidateExtensionTest, RejectsInvalidExtensions) {
  const std::vector<RejectCase> cases = {
      {"", "empty"},
      {"000000000000000000000000000000000", "33 characters long; the limit is 32"},
      {std::string_view("12 4"), "' ' at position 2 is not allowed"},
      {"+123", "'+' at position 0 is not allowed"},
      {"12/4", "'/' at position 2"},
      {"12@", "'@' at position 2"},
      {"1,2", "','"},
      {"a\tb", "byte 0x09 at position 1"},
      {"a\nb", "byte 0x0a at position 1"},
      {Bytes("a\0b"), "byte 0x00 at position 1"},
      {"\x7F", "byte 0x7f"},
      {"\xC3\xA9", "byte 0xc3 at position 0"},  // Non-ASCII letter.
      {"'", "'\\'' at position 0"},
  };
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(c.input);
    ExpectInvalid(ValidateExtension(c.input), "extension", c.problem);
  }
}

// ---------------------------------------------------------------------------------------
// ValidateCallbackNumber

TEST(ValidateCallbackNumberTest, AcceptsValidNumbers) {
  const std::vector<std::string_view> cases = {
      "123",
      "+123",
      "000",
      "5551234",
      "+15551234567",
      "12345678901234567890",
      "+12345678901234567890",  // The '+' does not count towards the 20 digits.
  };
  for (std::string_view number : cases) {
    SCOPED_TRACE(number);
    EXPECT_TRUE(ValidateCallbackNumber("callback_number", number).ok());
  }
}

TEST(ValidateCallbackNumberTest, RejectsInvalidNumbers) {
  const std::vector<RejectCase> cases = {
      {"", "empty"},
      {"+", "has 0 digits"},
      {"1", "has 1 digit;"},
      {"12", "has 2 digits"},
      {"+12", "has 2 digits"},
      {"123456789012345678901", "has 21 digits"},
      {"+123456789012345678901", "has 21 digits"},
      {"++123", "'+' at position 1 is not allowed"},
      {"123+", "'+' at position 3"},
      {" 123", "' ' at position 0"},
      {"123 ", "' ' at position 3"},
      {"555-1234", "'-' at position 3"},
      {"(555)1234", "'(' at position 0"},
      {"12a4", "'a' at position 2"},
      {"1234\n", "byte 0x0a at position 4"},
      {"\xD9\xA1\xD9\xA2\xD9\xA3", "byte 0xd9 at position 0"},  // Arabic-Indic digits.
  };
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(c.input);
    ExpectInvalid(ValidateCallbackNumber("callback_number", c.input), "callback_number", c.problem);
  }
}

TEST(ValidateCallbackNumberTest, MessageNamesTheGivenField) {
  ExpectInvalid(ValidateCallbackNumber("new_callback_number", "12"), "new_callback_number",
                "expected an optional leading '+' and 3-20 digits");
}

// ---------------------------------------------------------------------------------------
// ValidatePin

TEST(ValidatePinTest, AcceptsValidPins) {
  const std::vector<std::string_view> cases = {"0000", "1234", "98765", "000000000000",
                                               "123456789012"};
  for (std::string_view pin : cases) {
    SCOPED_TRACE(pin);
    EXPECT_TRUE(ValidatePin(pin).ok());
  }
}

TEST(ValidatePinTest, RejectsInvalidPinsWithoutRevealingThem) {
  const std::vector<RejectCase> cases = {
      {"", "empty"},
      {"7", "too short"},
      {"789", "too short"},
      {"7890123456789", "too long"},
      {"78901234567890123456", "too long"},
      {"78x9", "non-digit"},
      {"x789", "non-digit"},
      {"7 89", "non-digit"},
      {" 7890", "non-digit"},
      {"+7890", "non-digit"},
      {"-7890", "non-digit"},
      {"7890\n", "non-digit"},
      {Bytes("78\09"), "non-digit"},
      {"\xD9\xA7\xD9\xA8\xD9\xA9\xD9\xA0", "non-digit"},  // Arabic-Indic digits.
  };
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(c.input);
    const absl::Status status = ValidatePin(c.input);
    ExpectInvalid(status, "pin", c.problem);
    // The message is one of a few fixed texts, so nothing of the PIN (its characters or
    // its length) can leak into it.
    EXPECT_THAT(Message(status), AnyOf("pin: is empty; must be 4-12 digits",
                                       "pin: is too short; must be 4-12 digits",
                                       "pin: is too long; must be 4-12 digits",
                                       "pin: contains a non-digit; must be 4-12 digits"));
  }
}

// ---------------------------------------------------------------------------------------
// ValidateText

TEST(ValidateTextTest, AcceptsValidText) {
  const std::vector<std::string_view> cases = {
      "",
      "ORDER-42",
      "Recharge for March, 10.50 EUR",
      "tab\tseparated",
      "caf\xC3\xA9",                           // U+00E9, 2 bytes.
      "\xC2\x80",                              // U+0080, smallest 2-byte code point.
      "\xDF\xBF",                              // U+07FF, largest 2-byte code point.
      "\xE0\xA0\x80",                          // U+0800, smallest 3-byte code point.
      "\xE2\x82\xAC",                          // U+20AC euro sign.
      "\xED\x9F\xBF",                          // U+D7FF, just below the surrogates.
      "\xEE\x80\x80",                          // U+E000, just above the surrogates.
      "\xEF\xBB\xBF",                          // U+FEFF byte order mark.
      "\xEF\xBF\xBF",                          // U+FFFF.
      "\xF0\x90\x80\x80",                      // U+10000, smallest 4-byte code point.
      "\xF0\x9F\x93\x9E",                      // U+1F4DE telephone receiver.
      "\xF4\x8F\xBF\xBF",                      // U+10FFFF, the largest code point.
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",  // Japanese.
      "~ !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}",
  };
  for (std::string_view text : cases) {
    SCOPED_TRACE(text);
    const absl::Status status = ValidateText("description", text, kMaxDescriptionLength);
    EXPECT_TRUE(status.ok()) << status;
  }
}

TEST(ValidateTextTest, RejectsControlCharacters) {
  for (int b = 0; b < 0x20; ++b) {
    if (b == '\t') continue;
    const std::string text = "ab" + std::string(1, static_cast<char>(b)) + "c";
    SCOPED_TRACE(b);
    ExpectInvalid(ValidateText("order_no", text, kMaxOrderNoLength), "order_no",
                  "control character");
  }
  ExpectInvalid(ValidateText("order_no", "ab\x7F", kMaxOrderNoLength), "order_no",
                "control character 0x7f at byte 2");
  ExpectInvalid(ValidateText("order_no", "line\nbreak", kMaxOrderNoLength), "order_no",
                "control character 0x0a at byte 4");
  ExpectInvalid(ValidateText("order_no", Bytes("\0"), kMaxOrderNoLength), "order_no",
                "control character 0x00 at byte 0");
}

TEST(ValidateTextTest, RejectsInvalidUtf8) {
  const std::vector<RejectCase> cases = {
      // Stray continuation bytes and impossible lead bytes.
      {"\x80", "not valid UTF-8 at byte 0"},
      {"a\xBF", "not valid UTF-8 at byte 1"},
      {"\xF5\x80\x80\x80", "not valid UTF-8"},
      {"\xF8\x88\x80\x80\x80", "not valid UTF-8"},
      {"\xFE", "not valid UTF-8"},
      {"\xFF", "not valid UTF-8"},
      // Truncated sequences.
      {"\xC3", "not valid UTF-8 at byte 0"},
      {"caf\xC3", "not valid UTF-8 at byte 3"},
      {"\xE2\x82", "not valid UTF-8"},
      {"\xF0\x9F\x93", "not valid UTF-8"},
      {"\xC3x", "not valid UTF-8"},
      {"\xE2\x82x", "not valid UTF-8"},
      // Overlong encodings.
      {"\xC0\x80", "not valid UTF-8"},      // U+0000.
      {"\xC0\xAF", "not valid UTF-8"},      // '/'.
      {"\xC1\xBF", "not valid UTF-8"},      // U+007F.
      {"\xE0\x80\xAF", "not valid UTF-8"},  // '/'.
      {"\xE0\x9F\xBF", "not valid UTF-8"},  // U+07FF.
      {"\xF0\x80\x80\xAF", "not valid UTF-8"},
      {"\xF0\x8F\xBF\xBF", "not valid UTF-8"},  // U+FFFF.
      // UTF-16 surrogates.
      {"\xED\xA0\x80", "not valid UTF-8"},              // U+D800.
      {"\xED\xAF\xBF", "not valid UTF-8"},              // U+DBFF.
      {"\xED\xB0\x80", "not valid UTF-8"},              // U+DC00.
      {"\xED\xBF\xBF", "not valid UTF-8"},              // U+DFFF.
      {"\xED\xA0\xBD\xED\xB3\x9E", "not valid UTF-8"},  // CESU-8 surrogate pair.
      // Above U+10FFFF.
      {"\xF4\x90\x80\x80", "not valid UTF-8"},  // U+110000.
      {"\xF7\xBF\xBF\xBF", "not valid UTF-8"},
      // A valid sequence followed by a bad one reports the right offset.
      {"\xE2\x82\xAC\xE2\x28\xA1", "not valid UTF-8 at byte 3"},
  };
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(testing::PrintToString(std::string(c.input)));
    ExpectInvalid(ValidateText("description", c.input, kMaxDescriptionLength), "description",
                  c.problem);
  }
}

TEST(ValidateTextTest, LimitsLengthInBytes) {
  EXPECT_TRUE(
      ValidateText("order_no", std::string(kMaxOrderNoLength, 'x'), kMaxOrderNoLength).ok());
  ExpectInvalid(
      ValidateText("order_no", std::string(kMaxOrderNoLength + 1, 'x'), kMaxOrderNoLength),
      "order_no", "65 bytes long; the limit is 64");

  // 128 two-byte characters are 256 bytes: allowed as a description; one more is not.
  std::string text;
  for (int i = 0; i < 128; ++i) text += "\xC3\xA9";
  EXPECT_TRUE(ValidateText("description", text, kMaxDescriptionLength).ok());
  ExpectInvalid(ValidateText("description", text + "x", kMaxDescriptionLength), "description",
                "257 bytes long; the limit is 256");

  EXPECT_TRUE(ValidateText("note", "", 0).ok());
  ExpectInvalid(ValidateText("note", "x", 0), "note", "1 bytes long; the limit is 0");
}

TEST(ValidateTextTest, MessageDoesNotRepeatTheText) {
  const absl::Status status = ValidateText("description", "secret\x01stuff", 100);
  ExpectInvalid(status, "description", "control character 0x01 at byte 6");
  EXPECT_THAT(Message(status), Not(HasSubstr("secret")));
}

// ---------------------------------------------------------------------------------------
// ValidateRequestId

TEST(ValidateRequestIdTest, AcceptsValidRequestIds) {
  const std::string all_printable = [] {
    std::string s;
    for (char c = 0x20; c < 0x7F; ++c) s.push_back(c);
    return s;
  }();
  const std::vector<std::string> cases = {
      "",
      "x",
      "call-1234/leg-a",
      "550e8400-e29b-41d4-a716-446655440000",
      all_printable,
      std::string(kMaxRequestIdLength, 'r'),
  };
  for (const std::string& request_id : cases) {
    SCOPED_TRACE(request_id);
    EXPECT_TRUE(ValidateRequestId(request_id).ok()) << ValidateRequestId(request_id);
  }
}

TEST(ValidateRequestIdTest, RejectsInvalidRequestIds) {
  const std::string too_long(kMaxRequestIdLength + 1, 'r');
  const std::vector<RejectCase> cases = {
      {too_long, "129 bytes long; the limit is 128"},
      {"abc\n", "byte 0x0a at position 3"},
      {"\tabc", "byte 0x09 at position 0"},
      {Bytes("ab\0c"), "byte 0x00 at position 2"},
      {"ab\x7F", "byte 0x7f at position 2"},
      {"caf\xC3\xA9", "byte 0xc3 at position 3"},
      {"\xFF", "byte 0xff at position 0"},
  };
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(testing::PrintToString(std::string(c.input)));
    ExpectInvalid(ValidateRequestId(c.input), "request_id", c.problem);
  }
}

}  // namespace
}  // namespace callbackledger
