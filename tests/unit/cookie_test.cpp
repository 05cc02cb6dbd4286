// Finding the cookie: a cookie file lists the cookie to prove first and, on
// further lines, the cookies also accepted (rotation without downtime).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "cluster/cookie.hpp"

using namespace cluster;

namespace {

/// A file with `text` in a fresh temporary directory, removed at scope end.
struct temp_file {
  std::string dir, path;
  explicit temp_file(const std::string& text) {
    char tmpl[] = "/tmp/cookie_test.XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = dir + "/cookie";
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0400);
  }
  ~temp_file() {
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
};

}  // namespace

TEST_CASE("a one-line cookie file gives the cookie and nothing else to accept") {
  temp_file f("  s3cret \n");
  auto c = load_cookie({std::nullopt, f.path});
  REQUIRE(c);
  CHECK(c->secret == "s3cret");
  CHECK(c->also_accepted.empty());
  CHECK(c->origin == "file " + f.path);
}

TEST_CASE("a cookie file's further lines are accepted cookies; blank lines do not count") {
  temp_file f("new\n\n old \nolder\n");
  auto c = load_cookie({std::nullopt, f.path});
  REQUIRE(c);
  CHECK(c->secret == "new");
  CHECK(c->also_accepted == std::vector<std::string>{"old", "older"});
}

TEST_CASE("an empty cookie file, a missing one and an empty value are clear errors") {
  temp_file f("\n \n");
  auto empty = load_cookie({std::nullopt, f.path});
  REQUIRE_FALSE(empty);
  CHECK(empty.err().code == errc::bad_argument);
  CHECK(empty.err().message.find("is empty") != std::string::npos);
  auto missing = load_cookie({std::nullopt, f.dir + "/nope"});
  REQUIRE_FALSE(missing);
  CHECK(missing.err().code == errc::io_error);
  auto blank = load_cookie({std::string(), std::nullopt});
  REQUIRE_FALSE(blank);
  CHECK(blank.err().code == errc::bad_argument);
}

TEST_CASE("a cookie given as a value is taken whole, with nothing else accepted") {
  auto c = load_cookie({std::string("one two"), std::nullopt});
  REQUIRE(c);
  CHECK(c->secret == "one two");
  CHECK(c->also_accepted.empty());
  CHECK(c->origin == "command line");
}
