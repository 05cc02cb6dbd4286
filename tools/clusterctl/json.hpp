// A minimal JSON writer for clusterctl's --json output (objects, arrays,
// strings, numbers, booleans), enough for machine-readable results.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace clusterctl {

class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);
  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(std::int64_t n);
  json_writer& value(std::uint64_t n);
  json_writer& value(std::uint32_t n) { return value(std::uint64_t{n}); }
  json_writer& value(std::uint16_t n) { return value(std::uint64_t{n}); }
  json_writer& value(bool b);
  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
  bool need_comma_ = false;
};

/// `s` as a quoted JSON string.
std::string json_quote(std::string_view s);

}  // namespace clusterctl
