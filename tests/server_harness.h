// A harness for end-to-end tests that run the real `ledgerd` binary: a temporary data
// directory, a free loopback port, the process started with fork/exec and stopped with
// SIGTERM or SIGKILL, a gRPC channel to it, and a way to run `ledgerctl`.
//
// Every wait is bounded in time. The server only ever listens on 127.0.0.1. A server
// still running when its LedgerServer is destroyed is killed, and the temporary
// directory is removed. The child asks the kernel to kill it if the thread that started
// it dies (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
#ifndef CALLBACKLEDGER_TESTS_SERVER_HARNESS_H_
#define CALLBACKLEDGER_TESTS_SERVER_HARNESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/credit.grpc.pb.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger {
namespace e2e {

// Environment variables for a child process, added to (or replacing) the inherited ones.
using EnvVars = std::vector<std::pair<std::string, std::string>>;

// How a child process ended.
struct ProcessResult {
  // The exit code when it exited; 128 + the signal number when a signal ended it; -1 when
  // it did not end in time (it was then killed) or could not be started.
  int exit_code = -1;
  std::string out;  // what it wrote on stdout
  std::string err;  // what it wrote on stderr
  bool timed_out = false;

  // "exit code N" plus both outputs, for failure messages.
  std::string Describe() const;
};

// The paths of the binaries under test (from the build; see tests/CMakeLists.txt).
const std::string& LedgerdPath();
const std::string& LedgerctlPath();

// Runs `argv` (argv[0] is the program's path) with the inherited environment minus every
// LEDGERD_* variable, plus `env`; captures stdout and stderr; waits at most `timeout`,
// then kills it.
ProcessResult RunProcess(const std::vector<std::string>& argv, const EnvVars& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Runs `ledgerctl args...`.
ProcessResult RunLedgerctl(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A free TCP port on 127.0.0.1 (bound to port 0, read back, closed), never the same one twice
// in a process, or 0 on failure.
int PickFreeLoopbackPort();

// One ledgerd server and its data directory, which outlives restarts.
class LedgerServer {
 public:
  // Makes the temporary directory (mkdtemp); the data directory is `dir()/data` and the
  // server's stderr goes to `dir()/ledgerd.log` (appended across restarts).
  LedgerServer();
  ~LedgerServer();
  LedgerServer(const LedgerServer&) = delete;
  LedgerServer& operator=(const LedgerServer&) = delete;

  // The credentials of channel() and of the start-up health check (default: plaintext).
  // With TLS credentials, the server's name is checked as "localhost".
  void UseChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    credentials_ = std::move(credentials);
  }
  // A new channel to the server with `credentials` (the test's own client, say).
  std::shared_ptr<grpc::Channel> NewChannel(
      std::shared_ptr<grpc::ChannelCredentials> credentials) const;

  // Starts ledgerd with --listen=127.0.0.1:PORT --data_dir=DATA plus `flags` and `env`
  // (LEDGERD_* variables of the test's own environment are not passed on), then waits at
  // most `startup_timeout` until grpc.health.v1.Health/Check answers SERVING. On failure
  // the server is killed and the status carries its log. Keeps the port of the previous
  // start when it can, so a restart is at the same address.
  absl::Status Start(const std::vector<std::string>& flags = {}, const EnvVars& env = {},
                     std::chrono::milliseconds startup_timeout = std::chrono::seconds(20));

  // Sends SIGTERM and waits at most `timeout` for the exit (then SIGKILLs). Returns the
  // exit code as ProcessResult::exit_code does (-1 when it had to be killed or when no
  // server was running).
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // Sends SIGKILL (kill -9) and reaps the process. Returns 128 + 9 when it was running,
  // -1 otherwise.
  int Kill();

  // Stop() (which must exit 0), then Start(flags, env).
  absl::Status Restart(const std::vector<std::string>& flags = {}, const EnvVars& env = {});

  // Runs ledgerd on this data directory (and a fresh loopback port) until it exits, for a
  // start that is expected to fail. `flags` come after the harness's --listen and
  // --data_dir, and replace them when they give their own. Bounded by `timeout`.
  ProcessResult RunUntilExit(const std::vector<std::string>& flags, const EnvVars& env = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // Whether the process started by Start() is still alive (reaps it if it has exited).
  bool running();

  // Health/Check on the server; OK with the status it answered, or the RPC's error.
  absl::Status CheckHealth(grpc::health::v1::HealthCheckResponse::ServingStatus* status,
                           std::chrono::milliseconds timeout = std::chrono::seconds(2));

  const std::string& dir() const { return dir_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string address() const;  // "127.0.0.1:PORT"
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Everything ledgerd wrote on stderr (all starts).
  std::string Log() const;

  // The channel of the current start (a new one after each Start), and stubs on it.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<v1::CallerIds::Stub> caller_ids() const;
  std::unique_ptr<v1::Credit::Stub> credit() const;
  std::unique_ptr<v1::Events::Stub> events() const;
  std::unique_ptr<grpc::health::v1::Health::Stub> health() const;

 private:
  // Spawns ledgerd with `flags`, stdout and stderr appended to the log. Returns the pid,
  // or -1.
  pid_t Spawn(const std::vector<std::string>& flags, const EnvVars& env);
  absl::Status WaitUntilServing(std::chrono::milliseconds timeout, size_t log_offset);
  // Waits `duration` while doing the I/O of the channel, if there is one.
  void Pause(std::chrono::milliseconds duration);
  // Waits at most `timeout` for pid_ to exit; returns its exit code, or -1 on timeout.
  int WaitForExit(std::chrono::milliseconds timeout);
  std::string LogFrom(size_t offset) const;

  std::string dir_;
  std::string data_dir_;
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

}  // namespace e2e
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_TESTS_SERVER_HARNESS_H_
