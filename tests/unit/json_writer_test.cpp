// JsonWriter and AppendJsonEscaped: every byte string becomes a JSON string a strict parser
// (nlohmann::json) accepts; valid UTF-8 round-trips exactly, invalid bytes become U+FFFD.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/json_writer.hpp"

namespace pidscope {
namespace {

using namespace std::string_literals;
using Json = nlohmann::json;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string Escape(std::string_view value, bool* lossless = nullptr) {
  std::string out;
  bool ok = AppendJsonEscaped(&out, value);
  if (lossless != nullptr) *lossless = ok;
  return out;
}

// Decodes the escaped body with a strict parser; fails the test if it is not valid JSON.
std::string Decode(const std::string& body) {
  Json parsed = Json::parse("\"" + body + "\"", nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << "not a valid JSON string: " << body;
  return parsed.is_string() ? parsed.get<std::string>() : std::string();
}

// nlohmann's serializer as a UTF-8 oracle independent of src/util/utf8.hpp.
bool IsValidUtf8(const std::string& bytes) {
  // Replacing and dropping invalid bytes give the same text only when there are none.
  Json value(bytes);
  return value.dump(-1, ' ', false, Json::error_handler_t::replace) ==
         value.dump(-1, ' ', false, Json::error_handler_t::ignore);
}

TEST(AppendJsonEscaped, PlainAsciiIsCopied) {
  bool lossless = false;
  EXPECT_EQ(Escape("hello world /usr/bin", &lossless), "hello world /usr/bin");
  EXPECT_TRUE(lossless);
}

TEST(AppendJsonEscaped, QuotesBackslashesAndShortEscapes) {
  EXPECT_EQ(Escape("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(Escape("C:\\dir\\"), "C:\\\\dir\\\\");
  EXPECT_EQ(Escape("a\nb\tc\rd\be\ff"), "a\\nb\\tc\\rd\\be\\ff");
}

TEST(AppendJsonEscaped, OtherControlCharactersAsUnicodeEscapes) {
  EXPECT_EQ(Escape("\x01"), "\\u0001");
  EXPECT_EQ(Escape("\x1b[31m"), "\\u001b[31m");
  EXPECT_EQ(Escape("\x1f"), "\\u001f");
  EXPECT_EQ(Escape("\0"s), "\\u0000");
  EXPECT_EQ(Escape("\x7f"), "\x7f");  // DEL needs no escape in JSON
}

TEST(AppendJsonEscaped, EveryAsciiByteRoundTrips) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  bool lossless = false;
  std::string body = Escape(all, &lossless);
  EXPECT_TRUE(lossless);
  EXPECT_EQ(Decode(body), all);
  for (char c : body) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control in output";
}

TEST(AppendJsonEscaped, ValidMultibyteUtf8IsKept) {
  for (std::string s : {"caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf",
                        "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80"}) {
    bool lossless = false;
    EXPECT_EQ(Escape(s, &lossless), s);
    EXPECT_TRUE(lossless) << s;
  }
}

TEST(AppendJsonEscaped, InvalidUtf8BecomesReplacementCharacters) {
  struct Case {
    std::string input;
    std::string expected;
  };
  const std::string r(kReplacement);
  for (const Case& c : {
           Case{"\xff", r},
           Case{"a\xfeZ", "a" + r + "Z"},
           Case{"\x80", r},                          // lone continuation byte
           Case{"\xc0\xaf", r + r},                  // overlong '/'
           Case{"\xe0\x80\xaf", r + r + r},          // overlong, 3 bytes
           Case{"\xed\xa0\x80", r + r + r},          // UTF-16 surrogate
           Case{"\xf4\x90\x80\x80", r + r + r + r},  // above U+10FFFF
           Case{"\xf5\x80\x80\x80", r + r + r + r},
           Case{"x\xe2\x82", "x" + r + r},  // truncated at the end
           Case{"\xe2\x82x", r + r + "x"},  // truncated before ASCII
           Case{"\xc3", r},
       }) {
    bool lossless = true;
    std::string body = Escape(c.input, &lossless);
    EXPECT_FALSE(lossless) << c.input;
    EXPECT_EQ(body, c.expected) << c.input;
    EXPECT_EQ(Decode(body), c.expected);
  }
}

TEST(AppendJsonEscaped, AppendsWithoutTouchingWhatIsThere) {
  std::string out = "prefix:";
  AppendJsonEscaped(&out, "\"x\"");
  EXPECT_EQ(out, "prefix:\\\"x\\\"");
}

// Every string of one and two bytes, and three- and four-byte strings around the boundaries of
// the encoding: the output always parses, and is exact whenever the input was valid UTF-8.
TEST(AppendJsonEscaped, ExhaustiveShortStringsAlwaysParse) {
  auto check = [](const std::string& input) -> ::testing::AssertionResult {
    bool lossless = false;
    std::string body = Escape(input, &lossless);
    bool valid = IsValidUtf8(input);
    auto bytes = ::testing::PrintToString(input);
    if (lossless != valid) return ::testing::AssertionFailure() << "lossless flag wrong: " << bytes;
    Json parsed = Json::parse("\"" + body + "\"", nullptr, false);
    if (!parsed.is_string()) return ::testing::AssertionFailure() << "unparsable for " << bytes;
    if (valid && parsed.get<std::string>() != input) {
      return ::testing::AssertionFailure() << "valid input changed: " << bytes;
    }
    return ::testing::AssertionSuccess();
  };
  for (int a = 0; a < 256; ++a) {
    ASSERT_TRUE(check(std::string(1, static_cast<char>(a))));
    for (int b = 0; b < 256; ++b) ASSERT_TRUE(check({static_cast<char>(a), static_cast<char>(b)}));
  }
  const int kEdges[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  for (int a = 0xc0; a < 0x100; ++a) {
    for (int b : kEdges) {
      for (int c : kEdges) {
        ASSERT_TRUE(check({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)}));
        for (int d : kEdges) {
          ASSERT_TRUE(check({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                             static_cast<char>(d)}));
        }
      }
    }
  }
}

TEST(JsonWriter, NestedObjectsAndArraysAreSeparated) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Member("a", "x").MemberInt("b", -3).MemberUInt("c", 7).MemberBool("d", false);
  w.Key("e").BeginArray().Int(1).String("two").BeginObject().EndObject().BeginArray().EndArray();
  w.Null().EndArray();
  w.Key("f").BeginObject().Key("g").Null().EndObject();
  w.EndObject();
  EXPECT_EQ(out, R"({"a":"x","b":-3,"c":7,"d":false,"e":[1,"two",{},[],null],"f":{"g":null}})");
  Json parsed = Json::parse(out);
  EXPECT_EQ(parsed["e"][1], "two");
  EXPECT_TRUE(parsed["f"]["g"].is_null());
}

TEST(JsonWriter, IntegerLimits) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray()
      .Int(std::numeric_limits<int64_t>::min())
      .Int(std::numeric_limits<int64_t>::max())
      .UInt(std::numeric_limits<uint64_t>::max())
      .Int(0)
      .EndArray();
  EXPECT_EQ(out, "[-9223372036854775808,9223372036854775807,18446744073709551615,0]");
  Json parsed = Json::parse(out);
  EXPECT_EQ(parsed[0].get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(parsed[2].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
}

TEST(JsonWriter, HostileKeysAndValuesStayInsideTheirStrings) {
  std::string out;
  JsonWriter w(&out);
  std::string hostile = "\",\"injected\":true,\"x\":\"\n\\\xff";
  w.BeginObject().Member(hostile, hostile).EndObject();
  Json parsed = Json::parse(out);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_FALSE(parsed.contains("injected"));
  std::string expected = "\",\"injected\":true,\"x\":\"\n\\" + std::string(kReplacement);
  ASSERT_TRUE(parsed.contains(expected));
  EXPECT_EQ(parsed[expected], expected);
}

TEST(JsonWriter, ReportsWhetherTheLastStringWasLossy) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  w.String("fine");
  EXPECT_FALSE(w.last_string_was_lossy());
  w.String("bad\xff");
  EXPECT_TRUE(w.last_string_was_lossy());
  w.String("fine again");
  EXPECT_FALSE(w.last_string_was_lossy());
  w.EndArray();
}

TEST(JsonWriter, HundredKilobyteStringRoundTrips) {
  std::string big(100 * 1024, 'a');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = '"';
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Member("big", big).EndObject();
  EXPECT_EQ(Json::parse(out)["big"], big);
}

}  // namespace
}  // namespace pidscope
