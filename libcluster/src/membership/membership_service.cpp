#include "membership/membership_service.hpp"

#include <array>
#include <future>
#include <map>
#include <thread>

#include <asio.hpp>

#include "cluster/log.hpp"
#include "crypto/seal.hpp"

namespace cluster::internal::membership {

namespace {

using asio::ip::udp;

endpoint endpoint_of(const udp::endpoint& e) { return {e.address().to_string(), e.port()}; }

}  // namespace

class membership_service::impl final : public datagram_sink, public swim_listener {
 public:
  impl(service_options o, on_change cb)
      : opts_(std::move(o)),
        callback_(std::move(cb)),
        socket_(io_),
        beacon_socket_(io_),
        timer_(io_),
        discovery_timer_(io_),
        resolver_(io_) {}

  ~impl() override { stop(); }

  result<void> open() {
    asio::error_code ec;
    const auto address = asio::ip::make_address(opts_.bind_ip, ec);
    if (ec) return error{errc::io_error, "bad membership address " + opts_.bind_ip + ": " + ec.message()};
    const udp::endpoint local(address, opts_.self.address.port);
    socket_.open(local.protocol(), ec);
    if (!ec) socket_.bind(local, ec);
    if (ec)
      return error{errc::io_error, "cannot bind UDP " + opts_.bind_ip + ":" + std::to_string(local.port()) +
                                       " for membership: " + ec.message()};
    if (opts_.multicast) {
      if (auto joined = open_multicast(); !joined) return joined;
    }
    engine_ = std::make_unique<swim>(
        opts_.protocol, opts_.self, *this, clock_, *this,
        opts_.seed ? opts_.seed : (std::uint64_t{crypto::random_u32()} << 32 | crypto::random_u32()));
    return {};
  }

  void run() {
    receive();
    if (opts_.multicast) receive_beacon();
    discover();
    arm();
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }

  /// Runs `fn` on the membership thread and waits for its value.
  template <class F>
  auto call(F fn) -> decltype(fn()) {
    if (!thread_.joinable() || std::this_thread::get_id() == thread_.get_id()) return fn();
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto answer = task.get_future();
    asio::post(io_, [&task] { task(); });
    return answer.get();
  }

  void post(std::function<void()> fn) {
    asio::post(io_, [this, f = std::move(fn)] {
      f();
      arm();
    });
  }

  swim& engine() { return *engine_; }
  service_stats stats() const {
    service_stats s = counters_;
    s.protocol = engine_->stats();
    return s;
  }

  // datagram_sink: synchronous and non-blocking; the kernel queues or drops.
  void send_datagram(const endpoint& to, std::span<const std::uint8_t> bytes) override {
    asio::error_code ec;
    const auto address = asio::ip::make_address(to.host, ec);
    if (ec) {
      ++counters_.send_errors;
      return;
    }
    const auto sealed = crypto::seal(opts_.key, bytes);
    socket_.send_to(asio::buffer(sealed), udp::endpoint(address, to.port), 0, ec);
    if (ec) ++counters_.send_errors;
  }

  // swim_listener: log every change with its reason, then tell the owner.
  void on_member_change(const member& m, change what, const std::string& reporter) override {
    static constexpr const char* names[] = {"up", "suspect", "refuted", "down", "left", "updated"};
    const auto level = what == change::down ? log_level::warn : log_level::info;
    log(level, opts_.self.name + ": member " + m.name + " " + names[static_cast<int>(what)] + " (" + m.reason +
                   ", reported by " + reporter + ", incarnation " + std::to_string(m.incarnation) + ")");
    if (callback_) callback_(m, what, reporter);
  }

 private:
  result<void> open_multicast() {
    asio::error_code ec;
    const auto group = asio::ip::make_address(opts_.multicast_group, ec);
    if (ec || !group.is_v4()) return error{errc::io_error, "bad multicast group " + opts_.multicast_group};
    beacon_socket_.open(udp::v4(), ec);
    if (!ec) beacon_socket_.set_option(udp::socket::reuse_address(true), ec);
    if (!ec) beacon_socket_.bind(udp::endpoint(asio::ip::address_v4::any(), opts_.multicast_port), ec);
    const auto local = asio::ip::make_address(opts_.bind_ip);
    const bool specific = local.is_v4() && !local.to_v4().is_unspecified();
    if (!ec)
      beacon_socket_.set_option(specific ? asio::ip::multicast::join_group(group.to_v4(), local.to_v4())
                                         : asio::ip::multicast::join_group(group),
                                ec);
    if (!ec && specific) socket_.set_option(asio::ip::multicast::outbound_interface(local.to_v4()), ec);
    if (!ec) socket_.set_option(asio::ip::multicast::hops(1), ec);
    if (!ec) socket_.set_option(asio::ip::multicast::enable_loopback(true), ec);
    if (ec) return error{errc::io_error, "cannot join multicast group " + opts_.multicast_group + ": " + ec.message()};
    return {};
  }

  // With our cookie's key, or, while the cluster rotates its cookie, another
  // accepted one's.
  std::optional<std::vector<std::uint8_t>> unseal(std::span<const std::uint8_t> sealed) const {
    auto plain = crypto::open(opts_.key, sealed);
    for (std::size_t i = 0; !plain && i < opts_.also_accepted.size(); ++i)
      plain = crypto::open(opts_.also_accepted[i], sealed);
    return plain;
  }

  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), sender_, [this](const asio::error_code& ec, std::size_t n) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (auto plain = unseal(std::span(buffer_.data(), n)))
          engine_->on_datagram(endpoint_of(sender_), *plain);
        else
          refuse(sender_, std::span(buffer_.data(), n));
        arm();
      }
      receive();
    });
  }

  void receive_beacon() {
    beacon_socket_.async_receive_from(asio::buffer(beacon_buffer_), beacon_sender_,
                                      [this](const asio::error_code& ec, std::size_t n) {
                                        if (ec == asio::error::operation_aborted) return;
                                        if (!ec) {
                                          const auto from = endpoint_of(beacon_sender_);
                                          // Our own beacon comes back, and members we know need no answer.
                                          if (from != opts_.self.address && !engine_->live_member_at(from)) {
                                            if (auto plain = unseal(std::span(beacon_buffer_.data(), n))) {
                                              ++counters_.beacons_in;
                                              engine_->on_datagram(from, *plain);
                                              arm();
                                            } else {
                                              refuse(beacon_sender_, std::span(beacon_buffer_.data(), n));
                                            }
                                          }
                                        }
                                        receive_beacon();
                                      });
  }

  void refuse(const udp::endpoint& from, std::span<const std::uint8_t> sealed) {
    // Another cookie, the other encryption setting, tampering, or junk. Say
    // so once per sender and minute.
    ++counters_.auth_failures;
    const auto who = from.address().to_string() + ":" + std::to_string(from.port());
    const auto now = clock_.now();
    if (refused_at_.size() >= 1024) refused_at_.clear();  // spoofed senders must not grow memory
    auto& last = refused_at_[who];
    if (last == time_point{} || now - last > std::chrono::minutes(1)) {
      const bool other_setting = crypto::open(opts_.other_setting_key, sealed).has_value();
      log(log_level::warn, opts_.self.name + ": dropping membership datagrams from " + who +
                               (other_setting ? ": encryption mismatch: that node and this one disagree about "
                                                "--insecure-plaintext; every node must use the same setting"
                                              : " that do not open with our cookie (another cluster?)"));
      last = now;
    }
  }

  void arm() {
    const auto next = engine_->next_deadline();
    if (!next) return;
    if (armed_ && *armed_ == *next) return;
    armed_ = *next;
    timer_.expires_at(*next);
    timer_.async_wait([this](const asio::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      armed_.reset();
      engine_->tick();
      arm();
    });
  }

  // Resolve every seed name again and hand the engine the union: a seed
  // whose name appears in DNS later, or moves, is still found.
  void discover() {
    // A round still resolving (slow DNS) is not piled on: skip this one.
    const auto targets = resolving_ == 0 ? discovery_targets() : decltype(discovery_targets()){};
    resolving_ = targets.size();
    auto found = std::make_shared<std::vector<endpoint>>();
    for (const auto& [host, port] : targets) {
      resolver_.async_resolve(
          host, std::to_string(port), [this, found, host](const asio::error_code& ec, udp::resolver::results_type r) {
            if (ec && ec != asio::error::operation_aborted)
              log(log_level::debug, opts_.self.name + ": cannot resolve seed " + host + ": " + ec.message());
            for (const auto& e : r) found->push_back(endpoint_of(e.endpoint()));
            if (--resolving_ == 0) {
              std::sort(found->begin(), found->end());
              found->erase(std::unique(found->begin(), found->end()), found->end());
              engine_->set_seeds(*found);
              arm();
            }
          });
    }
    if (opts_.multicast) {
      ++counters_.beacons_out;
      engine_->announce({opts_.multicast_group, opts_.multicast_port});
    }
    discovery_timer_.expires_after(opts_.discovery_interval);
    discovery_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec) discover();
    });
  }

  std::vector<std::pair<std::string, std::uint16_t>> discovery_targets() const {
    std::vector<std::pair<std::string, std::uint16_t>> out;
    for (const auto& seed : opts_.join) out.emplace_back(seed.host, seed.port);
    for (const auto& name : opts_.dns) {
      // NAME or NAME:PORT; a name without a port means our own port.
      const auto colon = name.rfind(':');
      if (colon != std::string::npos && name.find(':') == colon && colon + 1 < name.size()) {
        const auto port = std::strtoul(name.c_str() + colon + 1, nullptr, 10);
        if (port > 0 && port <= 65535) {
          out.emplace_back(name.substr(0, colon), static_cast<std::uint16_t>(port));
          continue;
        }
      }
      out.emplace_back(name, opts_.self.address.port);
    }
    return out;
  }

  service_options opts_;
  on_change callback_;
  steady_clock clock_;
  asio::io_context io_;
  udp::socket socket_;
  udp::socket beacon_socket_;
  asio::steady_timer timer_;
  asio::steady_timer discovery_timer_;
  udp::resolver resolver_;
  std::unique_ptr<swim> engine_;
  std::optional<time_point> armed_;
  std::array<std::uint8_t, 65536> buffer_{};
  std::array<std::uint8_t, 65536> beacon_buffer_{};
  udp::endpoint sender_, beacon_sender_;
  std::map<std::string, time_point> refused_at_;  ///< bounded: cleared past 1,024 senders
  std::size_t resolving_ = 0;                     ///< names of the current round still resolving
  service_stats counters_;
  std::thread thread_;
};

result<std::unique_ptr<membership_service>> membership_service::start(service_options options, on_change callback) {
  auto p = std::make_unique<impl>(std::move(options), std::move(callback));
  if (auto opened = p->open(); !opened) return opened.err();
  p->run();
  return std::unique_ptr<membership_service>(new membership_service(std::move(p)));
}

membership_service::membership_service(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
membership_service::~membership_service() = default;

void membership_service::leave() {
  impl_->call([this] {
    impl_->engine().leave();
    return 0;
  });
}

void membership_service::link_lost(const std::string& name) {
  impl_->post([this, name] { impl_->engine().link_lost(name); });
}

void membership_service::set_tags(std::map<std::string, std::string> tags) {
  impl_->post([this, t = std::move(tags)]() mutable { impl_->engine().set_tags(std::move(t)); });
}

std::vector<member> membership_service::members() {
  return impl_->call([this] { return impl_->engine().members(); });
}

std::vector<member_history_entry> membership_service::history(const std::string& name) {
  return impl_->call([this, &name] { return impl_->engine().history(name); });
}

service_stats membership_service::stats() {
  return impl_->call([this] { return impl_->stats(); });
}

}  // namespace cluster::internal::membership
