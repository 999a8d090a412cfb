// AppendJsonEscaped and JsonWriter on arbitrary bytes: a strict JSON parser (nlohmann::json)
// accepts the output, which therefore is valid UTF-8 without raw control characters; valid UTF-8
// comes back byte for byte, and only invalid UTF-8 is reported lossy.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/json_writer.hpp"

namespace {

using Json = nlohmann::json;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

// nlohmann's serializer as a UTF-8 oracle independent of src/util/utf8.hpp.
bool IsValidUtf8(const std::string& bytes) {
  // Replacing and dropping invalid bytes give the same text only when there are none.
  Json value(bytes);
  return value.dump(-1, ' ', false, Json::error_handler_t::replace) ==
         value.dump(-1, ' ', false, Json::error_handler_t::ignore);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);

  std::string body;
  bool lossless = pidscope::AppendJsonEscaped(&body, input);
  for (char c : body) Check(static_cast<unsigned char>(c) >= 0x20, "raw control character");
  Json decoded = Json::parse("\"" + body + "\"", nullptr, /*allow_exceptions=*/false);
  Check(decoded.is_string(), "escaped text is not a JSON string");
  Check(lossless == IsValidUtf8(input), "lossy flag disagrees with UTF-8 validity");
  if (lossless) Check(decoded.get<std::string>() == input, "valid UTF-8 did not round-trip");

  // The same bytes as key, value and array element of a nested document.
  std::string out;
  pidscope::JsonWriter w(&out);
  w.BeginArray().BeginObject().Member(input, input).EndObject();
  w.BeginArray().String(input).Int(-1).EndArray().EndArray();
  Json doc = Json::parse(out, nullptr, /*allow_exceptions=*/false);
  Check(doc.is_array() && doc.size() == 2, "document is not an array of two elements");
  Check(doc[0].size() == 1 && doc[0].begin().key() == decoded && doc[0].begin().value() == decoded,
        "object member differs from the escaped string");
  Check(doc[1].size() == 2 && doc[1][0] == decoded && doc[1][1] == -1,
        "array elements differ from what was written");
  return 0;
}
