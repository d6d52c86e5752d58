#include "ledger/validate.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace callbackledger {
namespace {

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status Invalid(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(field), ": ", ToAbsl(problem)));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAsciiAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// One byte of input for an error message, escaped so that the message is safe to log:
// "'x'" for printable ASCII, "byte 0x0A" otherwise.
std::string DescribeByte(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b >= 0x20 && b < 0x7F) {
    return absl::StrCat("'", absl::CHexEscape(std::string(1, c)), "'");
  }
  return absl::StrCat("byte 0x", absl::Hex(b, absl::kZeroPad2));
}

// The length of the well-formed UTF-8 sequence at the start of `s` (1-4), or 0 when it is
// ill-formed: a stray continuation byte, a truncated sequence, an overlong encoding, a
// UTF-16 surrogate (U+D800-U+DFFF) or a code point above U+10FFFF. Follows table 3-7 of
// the Unicode standard.
size_t Utf8SequenceLength(std::string_view s) {
  auto byte = [&s](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;

  size_t length;
  uint8_t second_min = 0x80;
  uint8_t second_max = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) second_min = 0xA0;  // Overlong below U+0800.
    if (b0 == 0xED) second_max = 0x9F;  // Surrogates U+D800-U+DFFF.
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) second_min = 0x90;  // Overlong below U+10000.
    if (b0 == 0xF4) second_max = 0x8F;  // Above U+10FFFF.
  } else {
    return 0;  // 0x80-0xC1 (continuation or overlong 2-byte lead) or 0xF5-0xFF.
  }
  if (s.size() < length) return 0;
  if (byte(1) < second_min || byte(1) > second_max) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

bool IsControl(uint8_t b) { return (b < 0x20 && b != '\t') || b == 0x7F; }

}  // namespace

absl::Status ValidateExtension(std::string_view extension) {
  constexpr std::string_view kField = "extension";
  if (extension.empty()) {
    return Invalid(kField,
                   absl::StrCat("is empty; expected 1-", kMaxExtensionLength, " characters"));
  }
  if (extension.size() > kMaxExtensionLength) {
    return Invalid(kField, absl::StrCat("is ", extension.size(), " characters long; the limit is ",
                                        kMaxExtensionLength));
  }
  for (size_t i = 0; i < extension.size(); ++i) {
    const char c = extension[i];
    if (!IsAsciiAlnum(c) && c != '*' && c != '#' && c != '-' && c != '_' && c != '.') {
      return Invalid(kField, absl::StrCat(DescribeByte(c), " at position ", i,
                                          " is not allowed; use digits, letters, '*', '#', '-', "
                                          "'_' or '.'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCallbackNumber(std::string_view field, std::string_view number) {
  const std::string expected = absl::StrCat("expected an optional leading '+' and ",
                                            kMinCallbackDigits, "-", kMaxCallbackDigits, " digits");
  if (number.empty()) return Invalid(field, absl::StrCat("is empty; ", expected));
  const size_t start = number.front() == '+' ? 1 : 0;
  for (size_t i = start; i < number.size(); ++i) {
    if (!IsDigit(number[i])) {
      return Invalid(field, absl::StrCat(DescribeByte(number[i]), " at position ", i,
                                         " is not allowed; ", expected));
    }
  }
  const size_t digits = number.size() - start;
  if (digits < kMinCallbackDigits || digits > kMaxCallbackDigits) {
    return Invalid(field,
                   absl::StrCat("has ", digits, digits == 1 ? " digit; " : " digits; ", expected));
  }
  return absl::OkStatus();
}

absl::Status ValidatePin(std::string_view pin) {
  // Nothing of the PIN itself, not even its length or the offending character, goes into
  // a message: messages end up in logs and replies.
  constexpr std::string_view kField = "pin";
  const std::string expected =
      absl::StrCat("must be ", kMinPinDigits, "-", kMaxPinDigits, " digits");
  if (pin.empty()) return Invalid(kField, absl::StrCat("is empty; ", expected));
  for (char c : pin) {
    if (!IsDigit(c)) return Invalid(kField, absl::StrCat("contains a non-digit; ", expected));
  }
  if (pin.size() < kMinPinDigits) return Invalid(kField, absl::StrCat("is too short; ", expected));
  if (pin.size() > kMaxPinDigits) return Invalid(kField, absl::StrCat("is too long; ", expected));
  return absl::OkStatus();
}

absl::Status ValidateText(std::string_view field, std::string_view text, size_t max_length) {
  if (text.size() > max_length) {
    return Invalid(field,
                   absl::StrCat("is ", text.size(), " bytes long; the limit is ", max_length));
  }
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<uint8_t>(text[i]);
    if (IsControl(b)) {
      return Invalid(field, absl::StrCat("contains control character 0x",
                                         absl::Hex(b, absl::kZeroPad2), " at byte ", i));
    }
    const size_t length = Utf8SequenceLength(text.substr(i));
    if (length == 0) return Invalid(field, absl::StrCat("is not valid UTF-8 at byte ", i));
    i += length;
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(std::string_view request_id) {
  constexpr std::string_view kField = "request_id";
  if (request_id.size() > kMaxRequestIdLength) {
    return Invalid(kField, absl::StrCat("is ", request_id.size(), " bytes long; the limit is ",
                                        kMaxRequestIdLength));
  }
  for (size_t i = 0; i < request_id.size(); ++i) {
    const auto b = static_cast<uint8_t>(request_id[i]);
    if (b < 0x20 || b > 0x7E) {
      return Invalid(kField, absl::StrCat(DescribeByte(request_id[i]), " at position ", i,
                                          " is not allowed; only printable ASCII (0x20-0x7E)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace callbackledger
