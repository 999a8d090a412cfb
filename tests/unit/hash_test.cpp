// Sha256 and Base64Url against published vectors, and process.entity_id: deterministic, distinct
// for every input that tells processes apart, and pinned to its documented byte layout.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "model/entity_id.hpp"
#include "procfs/host.hpp"
#include "util/hash.hpp"

namespace pidscope {
namespace {

std::string Hex(const std::array<uint8_t, 32>& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string B64(std::string_view bytes) {
  return Base64Url(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// FIPS 180-2 appendix B.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, HashesEmbeddedNulBytes) {
  using namespace std::string_literals;
  EXPECT_NE(Sha256("a\0b"s), Sha256("a"));
}

// RFC 4648 section 10, without the padding base64url drops.
TEST(Base64Url, Rfc4648Vectors) {
  EXPECT_EQ(B64(""), "");
  EXPECT_EQ(B64("f"), "Zg");
  EXPECT_EQ(B64("fo"), "Zm8");
  EXPECT_EQ(B64("foo"), "Zm9v");
  EXPECT_EQ(B64("foob"), "Zm9vYg");
  EXPECT_EQ(B64("fooba"), "Zm9vYmE");
  EXPECT_EQ(B64("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, UsesTheUrlSafeAlphabet) {
  // Standard base64 of these is "+/+/" and "+/8=": '+' and '/' become '-' and '_'.
  EXPECT_EQ(B64("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(B64("\xfb\xff"), "-_8");
  EXPECT_EQ(B64(std::string_view("\0\0\0", 3)), "AAAA");
  EXPECT_EQ(B64("\xff\xff\xff"), "____");
}

procfs::HostInfo TestHost() {
  procfs::HostInfo host;
  host.boot_id = "0f1c2d3e-4b5a-6978-8796-a5b4c3d2e1f0";
  EXPECT_TRUE(procfs::ParseUuid(host.boot_id, &host.boot_id_bytes));
  host.host_pidns_inode = 4026531836;
  host.clock_ticks_per_second = 100;
  return host;
}

TEST(EntityId, IsDeterministic) {
  procfs::HostInfo host = TestHost();
  ProcessKey key{4242, 123456};
  std::string id = EntityId(host, key);
  EXPECT_EQ(id, EntityId(host, key));
  EXPECT_EQ(id, EntityId(TestHost(), ProcessKey{4242, 123456}));
  EXPECT_EQ(id.size(), 22u);  // 16 bytes in base64url without padding
  EXPECT_EQ(
      id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

TEST(EntityId, PinnedToItsByteLayout) {
  // base64url(SHA-256(boot id bytes | le64 pidns inode | le32 pid | le64 start ns)[0:16]),
  // computed independently with Python's hashlib. Changing it changes every id ever emitted.
  EXPECT_EQ(EntityId(TestHost(), ProcessKey{4242, 123456}), "Atft-WtMd03lT7ZeJxe0bA");
}

TEST(EntityId, DiffersWhenAnyInputChanges) {
  procfs::HostInfo host = TestHost();
  ProcessKey key{4242, 123456};
  std::set<std::string> ids = {EntityId(host, key)};

  procfs::HostInfo other_boot = host;
  other_boot.boot_id_bytes[15] ^= 1;
  EXPECT_TRUE(ids.insert(EntityId(other_boot, key)).second) << "boot id ignored";

  procfs::HostInfo other_pidns = host;
  other_pidns.host_pidns_inode += 1;
  EXPECT_TRUE(ids.insert(EntityId(other_pidns, key)).second) << "pidns inode ignored";

  EXPECT_TRUE(ids.insert(EntityId(host, ProcessKey{4243, 123456})).second) << "pid ignored";
  EXPECT_TRUE(ids.insert(EntityId(host, ProcessKey{4242, 123457})).second) << "start ignored";
}

TEST(EntityId, OnlyTheBootIdBytesCount) {
  // The text form is for display; the id is computed from the parsed bytes.
  procfs::HostInfo host = TestHost();
  procfs::HostInfo upper = host;
  upper.boot_id = "0F1C2D3E-4B5A-6978-8796-A5B4C3D2E1F0";
  EXPECT_EQ(EntityId(host, ProcessKey{1, 1}), EntityId(upper, ProcessKey{1, 1}));
}

TEST(EntityId, NoCollisionsAcrossManyPidsAndStarts) {
  procfs::HostInfo host = TestHost();
  std::set<std::string> ids;
  for (int32_t pid = 1; pid <= 200; ++pid) {
    for (uint64_t start = 0; start < 50; ++start)
      ids.insert(EntityId(host, ProcessKey{pid, start}));
  }
  EXPECT_EQ(ids.size(), 200u * 50u);
}

TEST(ParseUuid, AcceptsTheBootIdFormatOnly) {
  std::array<uint8_t, 16> bytes{};
  ASSERT_TRUE(procfs::ParseUuid("0f1c2d3e-4b5a-6978-8796-a5b4c3d2e1f0", &bytes));
  EXPECT_EQ(bytes[0], 0x0f);
  EXPECT_EQ(bytes[15], 0xf0);
  EXPECT_FALSE(procfs::ParseUuid("0f1c2d3e-4b5a-6978-8796-a5b4c3d2e1f", &bytes));  // 31 digits
  EXPECT_FALSE(procfs::ParseUuid("0f1c2d3e-4b5a-6978-8796-a5b4c3d2e1f00", &bytes));
  EXPECT_FALSE(procfs::ParseUuid("0f1c2d3e-4b5a-6978-8796-a5b4c3d2e1fg", &bytes));
  EXPECT_FALSE(procfs::ParseUuid("", &bytes));
}

}  // namespace
}  // namespace pidscope
