// Real processes for integration tests: start noded, run clusterctl, wait for
// a condition with a deadline. Polling sleeps are fine here (real time, real
// sockets); unit and simulation tests never sleep.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace itest {

inline std::string temp_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/libcluster-itest-XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return dir;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Spawns `argv` with stdout and stderr to `log_path`; extra environment entries appended.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::vector<std::string>& extra_env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Entries in `extra_env` replace inherited ones of the same name.
  auto overridden = [&](const std::string& entry) {
    const auto key = entry.substr(0, entry.find('=') + 1);
    for (const auto& e : extra_env)
      if (e.compare(0, key.size(), key) == 0) return true;
    return false;
  };
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e)
    if (!overridden(*e)) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = -1;
  posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

/// Waits for `pid` up to `timeout`; returns its exit code, or -1 if it is still running.
inline int wait_exit(pid_t pid, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

/// Polls `condition` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

/// A noded process; killed (SIGKILL) when destroyed if still running.
class noded {
 public:
  noded(std::string name, std::vector<std::string> extra_args, std::string cookie = "itest-cookie",
        std::vector<std::string> env = {})
      : name_(std::move(name)), log_(temp_dir() + "/" + name_ + "." + std::to_string(++counter()) + ".log") {
    std::vector<std::string> argv = {NODED_PATH, "--name", name_};
    if (!cookie.empty()) {
      argv.push_back("--cookie");
      argv.push_back(cookie);
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    pid_ = spawn(argv, log_, env);
  }
  ~noded() {
    if (pid_ > 0 && exit_code_ < 0) {
      ::kill(pid_, SIGKILL);
      wait_exit(pid_);
    }
  }
  noded(const noded&) = delete;

  const std::string& name() const { return name_; }
  std::string log() const { return read_file(log_); }
  pid_t pid() const { return pid_; }
  void signal(int sig) { ::kill(pid_, sig); }
  /// SIGSTOP, and waits until the kernel reports the process stopped (state
  /// T in /proc/PID/stat): a test that relies on a frozen node checks it is.
  bool freeze() {
    ::kill(pid_, SIGSTOP);
    return eventually([&] {
      const std::string stat = read_file("/proc/" + std::to_string(pid_) + "/stat");
      const auto paren = stat.rfind(')');
      return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
    });
  }
  /// Sends SIGTERM and waits; returns the exit code.
  int terminate() {
    ::kill(pid_, SIGTERM);
    exit_code_ = wait_exit(pid_);
    return exit_code_;
  }
  void kill9() {
    ::kill(pid_, SIGKILL);
    exit_code_ = wait_exit(pid_);
  }
  /// For a process expected to exit by itself (bad flags and the like).
  int wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    exit_code_ = wait_exit(pid_, timeout);
    return exit_code_;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

/// Whether a `clusterctl watch` running in the background is subscribed
/// yet: a node named `probe` joins through `seed` (and is killed) until
/// `shows_probe` finds it in the watch's output. A sanitized clusterctl can
/// take longer than any fixed pause to connect.
inline bool watch_subscribed(const std::string& probe, const std::string& seed,
                             const std::function<bool()>& shows_probe) {
  return eventually(
      [&] {
        noded n(probe, {"--join", seed});
        return eventually(shows_probe, std::chrono::seconds(3));
      },
      std::chrono::seconds(20));
}

struct run_result {
  int code = -1;
  std::string out;  ///< stdout and stderr together
};

/// Runs clusterctl with `args` to completion.
inline run_result clusterctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  static int n = 0;
  const std::string log = temp_dir() + "/clusterctl." + std::to_string(++n) + ".out";
  std::vector<std::string> argv = {CLUSTERCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = spawn(argv, log, env);
  run_result r;
  r.code = wait_exit(pid, std::chrono::milliseconds(30000));
  r.out = read_file(log);
  return r;
}

}  // namespace itest
