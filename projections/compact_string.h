// A string in 16 bytes, for the text of the in-memory CallerID table: up to 15 bytes inline
// (an extension, a callback number, most order numbers), longer text on the heap. A
// std::string takes 32 bytes however short its text, and a CallerID holds five strings: with
// a million CallerIDs that was 80 MB more to allocate and for the kernel to zero at every
// start (docs/benchmarks-history.md, "A smaller CallerID slot").
//
// Reads as a std::string_view (implicitly), and is assigned from one; copies are deep.
#ifndef CALLBACKLEDGER_PROJECTIONS_COMPACT_STRING_H_
#define CALLBACKLEDGER_PROJECTIONS_COMPACT_STRING_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "projections/check.h"

namespace callbackledger {

class CompactString {
 public:
  // The longest text kept inline.
  static constexpr size_t kInlineCapacity = 15;

  CompactString() noexcept { SetInlineSize(0); }
  CompactString(std::string_view text) { Assign(text); }  // NOLINT: implicit, as a string
  CompactString(const std::string& text) : CompactString(std::string_view(text)) {}  // NOLINT
  CompactString(const char* text) : CompactString(std::string_view(text)) {}         // NOLINT
  CompactString(const CompactString& other) { Assign(other.view()); }
  CompactString(CompactString&& other) noexcept { Steal(&other); }
  ~CompactString() { Release(); }

  CompactString& operator=(const CompactString& other) {
    if (this != &other) *this = other.view();
    return *this;
  }
  CompactString& operator=(CompactString&& other) noexcept {
    if (this != &other) {
      Release();
      Steal(&other);
    }
    return *this;
  }
  // The text may be this string's own: it is copied before the old text is let go.
  CompactString& operator=(std::string_view text) {
    CompactString fresh(text);
    return *this = std::move(fresh);
  }
  CompactString& operator=(const std::string& text) { return *this = std::string_view(text); }
  CompactString& operator=(const char* text) { return *this = std::string_view(text); }

  const char* data() const { return on_heap() ? HeapData() : bytes_; }
  size_t size() const { return on_heap() ? HeapSize() : InlineSize(); }
  bool empty() const { return size() == 0; }
  bool on_heap() const { return static_cast<unsigned char>(bytes_[kTag]) == kHeapTag; }

  std::string_view view() const { return std::string_view(data(), size()); }
  operator std::string_view() const { return view(); }  // NOLINT: implicit, as a string
  std::string str() const { return std::string(data(), size()); }

  void clear() { *this = CompactString(); }

  friend bool operator==(const CompactString& a, const CompactString& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const CompactString& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(std::string_view a, const CompactString& b) { return a == b.view(); }
  friend bool operator==(const CompactString& a, const std::string& b) { return a.view() == b; }
  friend bool operator==(const std::string& a, const CompactString& b) { return a == b.view(); }
  friend bool operator==(const CompactString& a, const char* b) { return a.view() == b; }
  friend bool operator==(const char* a, const CompactString& b) { return a == b.view(); }
  template <typename T>
  friend bool operator!=(const CompactString& a, const T& b) {
    return !(a == b);
  }
  template <typename T>
  friend bool operator!=(const T& a, const CompactString& b) {
    return !(a == b);
  }
  friend bool operator!=(const CompactString& a, const CompactString& b) { return !(a == b); }
  friend bool operator<(const CompactString& a, const CompactString& b) {
    return a.view() < b.view();
  }

 private:
  // Inline: the text in bytes_[0, 15), its size in bytes_[15]. On the heap: the pointer in
  // bytes_[0, 8), the size in bytes_[8, 12), kHeapTag in bytes_[15].
  static constexpr size_t kTag = 15;
  static constexpr unsigned char kHeapTag = 0xFF;

  size_t InlineSize() const { return static_cast<unsigned char>(bytes_[kTag]); }
  void SetInlineSize(size_t size) { bytes_[kTag] = static_cast<char>(size); }
  char* HeapData() const {
    char* pointer;
    std::memcpy(&pointer, bytes_, sizeof(pointer));
    return pointer;
  }
  size_t HeapSize() const {
    uint32_t size;
    std::memcpy(&size, bytes_ + sizeof(char*), sizeof(size));
    return size;
  }

  void Assign(std::string_view text) {
    if (text.size() <= kInlineCapacity) {
      if (!text.empty()) std::memcpy(bytes_, text.data(), text.size());
      SetInlineSize(text.size());
      return;
    }
    LEDGER_CHECK(text.size() <= std::numeric_limits<uint32_t>::max());
    char* pointer = new char[text.size()];
    std::memcpy(pointer, text.data(), text.size());
    const uint32_t size = static_cast<uint32_t>(text.size());
    std::memcpy(bytes_, &pointer, sizeof(pointer));
    std::memcpy(bytes_ + sizeof(pointer), &size, sizeof(size));
    bytes_[kTag] = static_cast<char>(kHeapTag);
  }
  void Steal(CompactString* other) noexcept {
    std::memcpy(bytes_, other->bytes_, sizeof(bytes_));
    other->SetInlineSize(0);
  }
  void Release() {
    if (on_heap()) delete[] HeapData();
  }

  alignas(8) char bytes_[16];
};

static_assert(sizeof(CompactString) == 16, "a CompactString is 16 bytes");

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_PROJECTIONS_COMPACT_STRING_H_
