// A streaming JSON writer into a reusable string buffer. Strings from the kernel are bytes, not
// text: control characters are escaped and invalid UTF-8 becomes U+FFFD, so hostile process names
// and arguments can never break the document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pidscope {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& UInt(uint64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // Shorthands for "key": value members.
  JsonWriter& Member(std::string_view key, std::string_view value) {
    return Key(key).String(value);
  }
  JsonWriter& Member(std::string_view key, const char* value) { return Key(key).String(value); }
  JsonWriter& MemberInt(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& MemberUInt(std::string_view key, uint64_t value) { return Key(key).UInt(value); }
  JsonWriter& MemberBool(std::string_view key, bool value) { return Key(key).Bool(value); }

  // True when the last String() had to replace invalid UTF-8.
  bool last_string_was_lossy() const { return last_lossy_; }

 private:
  void Separate();
  void AppendEscaped(std::string_view value);

  std::string* out_;
  std::vector<bool> first_in_scope_;  // one entry per open object/array
  bool after_key_ = false;
  bool last_lossy_ = false;
};

// Appends `value` to `out` as the body of a JSON string (no quotes). Returns false if invalid
// UTF-8 had to be replaced.
bool AppendJsonEscaped(std::string* out, std::string_view value);

}  // namespace pidscope
