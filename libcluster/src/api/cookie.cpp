#include "cluster/cookie.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "cluster/log.hpp"
#include "crypto/keys.hpp"

namespace cluster {
namespace {

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// One cookie per non-empty line: the first is ours, the others accepted too.
result<std::vector<std::string>> read_cookie_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error{errc::io_error, "cannot read cookie file " + path + ": " + std::strerror(errno)};
  std::vector<std::string> secrets;
  for (std::string line; std::getline(in, line);)
    if (auto secret = trim(line); !secret.empty()) secrets.push_back(std::move(secret));
  if (secrets.empty()) return error{errc::bad_argument, "cookie file " + path + " is empty"};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
    log(log_level::warn, "cookie file " + path + " is readable by others; chmod 400 it");
  return secrets;
}

cookie from_file(std::vector<std::string> secrets, std::string origin) {
  cookie c{std::move(secrets.front()), {}, std::move(origin)};
  c.also_accepted.assign(std::make_move_iterator(secrets.begin() + 1), std::make_move_iterator(secrets.end()));
  return c;
}

result<std::vector<std::string>> create_cookie_file(const std::string& path) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const auto random = internal::crypto::random_bytes(32);
  std::string secret;
  for (const auto b : random) secret += alphabet[b % (sizeof alphabet - 1)];
  // Written whole under a private name, then linked into place: link()
  // fails if the file exists, so when two processes race to create it (nodes
  // started together), one wins and the other reads the winner's cookie,
  // never a file that is there but not yet written.
  std::string temp = path + ".XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return error{errc::io_error, "cannot create cookie file " + path + ": " + std::strerror(errno)};
  const std::string line = secret + "\n";
  const bool written = ::fchmod(fd, 0400) == 0 &&
                       ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(temp.c_str());
    return error{errc::io_error, "cannot write cookie file " + path};
  }
  const int linked = ::link(temp.c_str(), path.c_str());
  const int link_error = errno;
  ::unlink(temp.c_str());
  if (linked == 0) return std::vector<std::string>{secret};
  if (link_error == EEXIST) return read_cookie_file(path);
  return error{errc::io_error, "cannot create cookie file " + path + ": " + std::strerror(link_error)};
}

}  // namespace

std::string default_cookie_path() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.libcluster.cookie";
}

result<cookie> load_cookie(const cookie_source& source) {
  if (source.value) {
    if (source.value->empty()) return error{errc::bad_argument, "the cookie is empty"};
    return cookie{*source.value, {}, "command line"};
  }
  if (source.file) {
    auto secrets = read_cookie_file(*source.file);
    if (!secrets) return secrets.err();
    return from_file(std::move(secrets).value(), "file " + *source.file);
  }
  if (const char* env = std::getenv("CLUSTER_COOKIE"); env && *env) return cookie{env, {}, "CLUSTER_COOKIE"};
  const std::string path = default_cookie_path();
  if (::access(path.c_str(), F_OK) == 0) {
    auto secrets = read_cookie_file(path);
    if (!secrets) return secrets.err();
    return from_file(std::move(secrets).value(), "file " + path);
  }
  auto secrets = create_cookie_file(path);
  if (!secrets) return secrets.err();
  return from_file(std::move(secrets).value(), "file " + path + " (created)");
}

}  // namespace cluster
