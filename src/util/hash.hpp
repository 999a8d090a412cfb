// Digests for stable identifiers.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pidscope {

std::array<uint8_t, 32> Sha256(std::string_view data);
// RFC 4648 base64url without padding.
std::string Base64Url(const uint8_t* data, size_t size);

}  // namespace pidscope
