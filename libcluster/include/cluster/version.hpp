// The library's version, as reported by `noded --version` and `clusterctl info`.
#pragma once

#include <string_view>

namespace cluster {

inline constexpr std::string_view version = "0.1.0";

}  // namespace cluster
