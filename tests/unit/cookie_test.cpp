// Finding the cookie: a cookie file lists the cookie to prove first and, on
// further lines, the cookies also accepted (rotation without downtime).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

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

TEST_CASE("the default cookie file appears whole, and nodes that create it together get the same cookie") {
  char tmpl[] = "/tmp/cookie_home.XXXXXX";
  const std::string home = ::mkdtemp(tmpl);
  const std::string path = home + "/.libcluster.cookie";
  const std::string old_home = std::getenv("HOME") ? std::getenv("HOME") : "";
  ::setenv("HOME", home.c_str(), 1);
  ::unsetenv("CLUSTER_COOKIE");
  // Before, a reader could find the file between its creation and its
  // write ("cookie file ... is empty"), and so could the creator that lost
  // the race. Rounds of two creators and a reader polling meanwhile.
  int seen_empty = 0, failed = 0, differ = 0;
  for (int round = 0; round < 50; ++round) {
    ::unlink(path.c_str());
    std::latch go(3);
    std::atomic<int> finished{0};
    std::vector<result<cookie>> got(2, error{errc::io_error, "not run"});
    std::vector<std::thread> creators;
    for (auto& g : got)
      creators.emplace_back([&g, &go, &finished] {
        go.arrive_and_wait();
        g = load_cookie({});
        finished.fetch_add(1);
      });
    go.arrive_and_wait();
    while (finished.load() < 2) {
      std::ifstream in(path);
      std::string line;
      if (in && (!std::getline(in, line) || line.empty())) ++seen_empty;
    }
    for (auto& t : creators) t.join();
    for (const auto& g : got) failed += g.ok() ? 0 : 1;
    if (got[0].ok() && got[1].ok() && got[0].value().secret != got[1].value().secret) ++differ;
  }
  ::setenv("HOME", old_home.c_str(), 1);
  CHECK(seen_empty == 0);
  CHECK(failed == 0);
  CHECK(differ == 0);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0400);
  ::unlink(path.c_str());
  CHECK(::rmdir(home.c_str()) == 0);  // no temporary file left behind
}
