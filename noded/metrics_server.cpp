#include "metrics_server.hpp"

#include <array>
#include <set>
#include <sstream>
#include <thread>

#include <asio.hpp>

#include "cluster/log.hpp"

namespace noded {

namespace {

using asio::ip::tcp;

// Counters that can go down are gauges; every other one only grows.
const std::set<std::string> gauges = {"connections",     "processes", "local_health",
                                      "queued_messages", "suspended", "flow_records"};

std::string escape(const std::string& v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void histogram_text(std::ostringstream& out, const std::string& name, const std::string& help,
                    const cluster::histogram& h) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    out << name << "_bucket{le=\"";
    if (i < h.bounds_us.size())
      out << static_cast<double>(h.bounds_us[i]) / 1e6;
    else
      out << "+Inf";
    out << "\"} " << cumulative << "\n";
  }
  out << name << "_sum " << static_cast<double>(h.sum_us) / 1e6 << "\n" << name << "_count " << h.count << "\n";
}

}  // namespace

std::string prometheus_text(const cluster::node_stats& stats, const std::vector<cluster::member>& members,
                            const cluster::node_info& info) {
  std::ostringstream out;
  out << "# HELP libcluster_node_info The node's identity (value 1).\n# TYPE libcluster_node_info gauge\n"
      << "libcluster_node_info{node=\"" << escape(info.name) << "\",version=\"" << escape(info.version)
      << "\",creation=\"" << info.creation << "\"} 1\n";
  out << "# HELP libcluster_uptime_seconds Seconds since the node started.\n# TYPE libcluster_uptime_seconds gauge\n"
      << "libcluster_uptime_seconds " << static_cast<double>(info.uptime.count()) / 1000 << "\n";

  std::map<std::string, int> by_state{{"alive", 0}, {"suspect", 0}, {"dead", 0}, {"left", 0}};
  for (const auto& m : members) ++by_state[std::string(to_string(m.state))];
  out << "# HELP libcluster_members Members in this node's view, by state (itself included).\n"
      << "# TYPE libcluster_members gauge\n";
  for (const auto& [state, n] : by_state) out << "libcluster_members{state=\"" << state << "\"} " << n << "\n";

  for (const auto& [name, value] : stats.counters()) {
    const bool gauge = gauges.contains(name);
    const std::string metric = "libcluster_" + name + (gauge ? "" : "_total");
    out << "# TYPE " << metric << (gauge ? " gauge\n" : " counter\n") << metric << " " << value << "\n";
  }

  const std::pair<const char*, std::uint64_t cluster::link_stats::*> link_fields[] = {
      {"frames_in", &cluster::link_stats::frames_in},     {"frames_out", &cluster::link_stats::frames_out},
      {"bytes_in", &cluster::link_stats::bytes_in},       {"bytes_out", &cluster::link_stats::bytes_out},
      {"messages_in", &cluster::link_stats::messages_in}, {"messages_out", &cluster::link_stats::messages_out}};
  for (const auto& [name, field] : link_fields) {
    const std::string metric = std::string("libcluster_link_") + name + "_total";
    out << "# HELP " << metric << " Per link to a peer node.\n# TYPE " << metric << " counter\n";
    for (const auto& l : stats.links) out << metric << "{peer=\"" << escape(l.node) << "\"} " << l.*field << "\n";
  }
  out << "# HELP libcluster_link_queued_messages Messages waiting to go to the peer (link not up, or transport full).\n"
      << "# TYPE libcluster_link_queued_messages gauge\n";
  for (const auto& l : stats.links)
    out << "libcluster_link_queued_messages{peer=\"" << escape(l.node) << "\"} " << l.queued << "\n";
  out << "# HELP libcluster_link_queued_bytes Bytes waiting to go to the peer (flow control counts these).\n"
      << "# TYPE libcluster_link_queued_bytes gauge\n";
  for (const auto& l : stats.links)
    out << "libcluster_link_queued_bytes{peer=\"" << escape(l.node) << "\"} " << l.queued_bytes << "\n";

  histogram_text(out, "libcluster_call_latency_seconds", "Round trips of calls made by this node's processes.",
                 stats.call_latency);
  histogram_text(out, "libcluster_spawn_latency_seconds", "Round trips of remote spawns made by this node's processes.",
                 stats.spawn_latency);
  return out.str();
}

class metrics_server::impl {
 public:
  explicit impl(cluster::node& node) : node_(node), acceptor_(io_) {}
  ~impl() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  cluster::result<void> open(const std::string& address, std::uint16_t port) {
    asio::error_code ec;
    tcp::resolver resolver(io_);
    const auto found = resolver.resolve(address, std::to_string(port), ec);
    if (ec || found.empty())
      return cluster::error{cluster::errc::io_error, "metrics address " + address + ": " + ec.message()};
    const tcp::endpoint at = *found.begin();
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(16, ec);
    if (ec)
      return cluster::error{cluster::errc::io_error,
                            "cannot serve metrics on " + address + ":" + std::to_string(port) + ": " + ec.message()};
    accept();
    thread_ = std::thread([this] { io_.run(); });
    cluster::log(cluster::log_level::info, "metrics on http://" + address + ":" + std::to_string(port) + "/metrics");
    return {};
  }

 private:
  // One request per connection, at most 8 KiB of headers, 2 s to send them.
  struct exchange : std::enable_shared_from_this<exchange> {
    exchange(impl& server, tcp::socket s) : owner(server), socket(std::move(s)), deadline(socket.get_executor()) {}
    impl& owner;
    tcp::socket socket;
    asio::steady_timer deadline;
    asio::streambuf request{8192};
    std::string response;

    void start() {
      deadline.expires_after(std::chrono::seconds(2));
      deadline.async_wait([self = shared_from_this()](const asio::error_code& ec) {
        if (!ec) self->socket.close();
      });
      asio::async_read_until(socket, request, "\r\n\r\n",
                             [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
                               if (ec) return;  // too long, too slow or gone: nothing to answer
                               self->answer();
                             });
    }
    void answer() {
      std::istream in(&request);
      std::string method, path;
      in >> method >> path;
      if (method != "GET") {
        response = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      } else if (path != "/metrics" && path != "/") {
        response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      } else {
        const std::string body = owner.render();
        response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      }
      asio::async_write(socket, asio::buffer(response),
                        [self = shared_from_this()](const asio::error_code&, std::size_t) {
                          asio::error_code ignored;
                          self->socket.shutdown(tcp::socket::shutdown_both, ignored);
                          self->deadline.cancel();
                        });
    }
  };

  std::string render() { return prometheus_text(node_.stats(), node_.members(), node_.info()); }

  void accept() {
    acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<exchange>(*this, std::move(s))->start();
      accept();
    });
  }

  cluster::node& node_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

cluster::result<std::unique_ptr<metrics_server>> metrics_server::start(cluster::node& node, const std::string& address,
                                                                       std::uint16_t port) {
  auto p = std::make_unique<impl>(node);
  if (auto opened = p->open(address, port); !opened) return opened.err();
  return std::unique_ptr<metrics_server>(new metrics_server(std::move(p)));
}

metrics_server::metrics_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
metrics_server::~metrics_server() = default;

}  // namespace noded
