#include "tests/server_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

extern char** environ;

#ifndef LEDGERD_BINARY
#error "LEDGERD_BINARY must be defined to the path of the ledgerd binary"
#endif
#ifndef LEDGERCTL_BINARY
#error "LEDGERCTL_BINARY must be defined to the path of the ledgerctl binary"
#endif

namespace callbackledger {
namespace e2e {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kNotExited = -1;
// At most this much of a log goes into a failure message (its end).
constexpr size_t kMaxLogInMessage = 8000;

std::string TempBase() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string Tail(const std::string& text) {
  if (text.size() <= kMaxLogInMessage) return text;
  return absl::StrCat("...", text.substr(text.size() - kMaxLogInMessage));
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return kNotExited;
}

// Waits at most `timeout` for `pid` to end. Returns its exit code, or kNotExited.
int WaitPid(pid_t pid, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    int wait_status = 0;
    pid_t done = waitpid(pid, &wait_status, WNOHANG);
    if (done == pid) return ExitCodeOf(wait_status);
    if (done == -1 && errno != EINTR) return kNotExited;  // not our child (any more)
    if (Clock::now() >= deadline) return kNotExited;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// Kills `pid` and reaps it (bounded). Returns its exit code, or kNotExited.
int KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  return WaitPid(pid, std::chrono::seconds(10));
}

// Starts `argv` with stdin from /dev/null and stdout and stderr appended to the given
// files. Everything the child needs is prepared before fork(): after it, the child of a
// multi-threaded process may only call async-signal-safe functions.
pid_t SpawnProcess(const std::vector<std::string>& argv, const EnvVars& env,
                   const std::string& out_path, const std::string& err_path) {
  if (argv.empty()) return -1;
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string variable(*entry);
    if (absl::StartsWith(variable, "LEDGERD_")) continue;
    bool replaced = std::any_of(env.begin(), env.end(), [&](const auto& name_value) {
      return absl::StartsWith(variable, absl::StrCat(name_value.first, "="));
    });
    if (!replaced) env_strings.emplace_back(variable);
  }
  for (const auto& [name, value] : env) env_strings.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> envp;
  for (const std::string& entry : env_strings) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
  int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out_fd = open(out_path.c_str(), flags, 0644);
  int err_fd = out_path == err_path ? out_fd : open(err_path.c_str(), flags, 0644);
  auto close_all = [&] {
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0 && err_fd != out_fd) close(err_fd);
  };
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    close_all();
    return -1;
  }
  rlimit files{};
  int max_fd = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                   ? static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 16))
                   : 4096;
  const pid_t parent = getpid();
  const char* path = args[0];

  pid_t pid = fork();
  if (pid == 0) {
    // The child: async-signal-safe calls only.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal_number : {SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP}) {
      sigaction(signal_number, &default_action, nullptr);
    }
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
    for (int fd = 3; fd < max_fd; ++fd) close(fd);
    execve(path, args.data(), envp.data());
    static const char kExecFailed[] = "server_harness: execve failed\n";
    ssize_t ignored = write(2, kExecFailed, sizeof(kExecFailed) - 1);
    (void)ignored;
    _exit(127);
  }
  close_all();
  return pid;
}

bool HasFlag(const std::vector<std::string>& flags, const std::string& name) {
  return std::any_of(flags.begin(), flags.end(), [&](const std::string& flag) {
    return flag == absl::StrCat("--", name) ||
           absl::StartsWith(flag, absl::StrCat("--", name, "="));
  });
}

}  // namespace

std::string ProcessResult::Describe() const {
  return absl::StrCat(timed_out ? "did not exit in time (killed)" : "exit code ",
                      timed_out ? "" : std::to_string(exit_code), "\n--- stdout ---\n", Tail(out),
                      "\n--- stderr ---\n", Tail(err));
}

const std::string& LedgerdPath() {
  static const std::string* const path = new std::string(LEDGERD_BINARY);
  return *path;
}

const std::string& LedgerctlPath() {
  static const std::string* const path = new std::string(LEDGERCTL_BINARY);
  return *path;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const EnvVars& env,
                         milliseconds timeout) {
  ProcessResult result;
  std::string pattern = TempBase() + "/ledger_e2e_run.XXXXXX";
  std::vector<char> dir(pattern.begin(), pattern.end());
  dir.push_back('\0');
  if (mkdtemp(dir.data()) == nullptr) {
    result.err = absl::StrCat("mkdtemp: ", std::strerror(errno));
    return result;
  }
  const std::string out_path = std::string(dir.data()) + "/stdout";
  const std::string err_path = std::string(dir.data()) + "/stderr";
  pid_t pid = SpawnProcess(argv, env, out_path, err_path);
  if (pid < 0) {
    result.err = absl::StrCat("cannot start ", argv.empty() ? "" : argv[0]);
  } else {
    result.exit_code = WaitPid(pid, timeout);
    if (result.exit_code == kNotExited) {
      result.timed_out = true;
      KillAndReap(pid);
    }
    result.out = ReadFile(out_path);
    result.err = ReadFile(err_path);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir.data(), ignored);
  return result;
}

ProcessResult RunLedgerctl(const std::vector<std::string>& args, milliseconds timeout) {
  std::vector<std::string> argv = {LedgerctlPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, {}, timeout);
}

namespace {

// One free port from the kernel (bound to port 0, read back, closed), or 0.
int AskKernelForFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  int port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace

int PickFreeLoopbackPort() {
  // The kernel may hand the same free port out twice in a row (it is closed again at once);
  // a test that picks two (the gRPC port and the metrics port, say) must get two different
  // ones, or the second server start fails on the first's port. So no port is handed out
  // twice in one process.
  static absl::Mutex mu(absl::kConstInit);
  static std::set<int>* given = new std::set<int>();
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int port = AskKernelForFreePort();
    if (port == 0) return 0;
    absl::MutexLock lock(&mu);
    if (given->insert(port).second) return port;
  }
  return 0;
}

LedgerServer::LedgerServer() {
  std::string pattern = TempBase() + "/ledger_e2e.XXXXXX";
  std::vector<char> dir(pattern.begin(), pattern.end());
  dir.push_back('\0');
  if (mkdtemp(dir.data()) != nullptr) {
    dir_ = dir.data();
    data_dir_ = dir_ + "/data";
    log_path_ = dir_ + "/ledgerd.log";
  }
}

LedgerServer::~LedgerServer() {
  if (pid_ > 0) Kill();
  channel_.reset();
  if (dir_.empty()) return;
  if (std::getenv("LEDGER_E2E_KEEP_DIRS") != nullptr) {
    std::fprintf(stderr, "server_harness: keeping %s\n", dir_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string LedgerServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string LedgerServer::Log() const { return ReadFile(log_path_); }

std::string LedgerServer::LogFrom(size_t offset) const {
  std::string log = Log();
  return offset < log.size() ? log.substr(offset) : std::string();
}

pid_t LedgerServer::Spawn(const std::vector<std::string>& flags, const EnvVars& env) {
  std::vector<std::string> argv = {LedgerdPath()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return SpawnProcess(argv, env, log_path_, log_path_);
}

bool LedgerServer::running() {
  if (pid_ <= 0) return false;
  int wait_status = 0;
  pid_t done = waitpid(pid_, &wait_status, WNOHANG);
  if (done == 0) return true;
  pid_ = -1;
  return false;
}

absl::Status LedgerServer::CheckHealth(grpc::health::v1::HealthCheckResponse::ServingStatus* status,
                                       milliseconds timeout) {
  if (channel_ == nullptr) return absl::FailedPreconditionError("no server was started");
  std::unique_ptr<grpc::health::v1::Health::Stub> stub = health();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status rpc = stub->Check(&context, request, &response);
  if (!rpc.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(rpc.error_code()),
                        absl::StrCat("Health/Check: ", rpc.error_message()));
  }
  *status = response.status();
  return absl::OkStatus();
}

absl::Status LedgerServer::WaitUntilServing(milliseconds timeout, size_t log_offset) {
  const Clock::time_point deadline = Clock::now() + timeout;
  channel_ =
      NewChannel(credentials_ != nullptr ? credentials_ : grpc::InsecureChannelCredentials());
  std::string last = "no answer yet";
  while (true) {
    if (!running()) {
      return absl::UnavailableError(
          absl::StrCat("ledgerd exited before serving; its log:\n", Tail(LogFrom(log_offset))));
    }
    grpc::health::v1::HealthCheckResponse::ServingStatus status;
    absl::Status check = CheckHealth(&status, milliseconds(500));
    if (check.ok() && status == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    last = check.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(status)
                      : check.ToString();
    if (Clock::now() >= deadline) {
      Kill();
      return absl::DeadlineExceededError(absl::StrCat("ledgerd did not answer SERVING in ",
                                                      timeout.count(), " ms (last answer: ", last,
                                                      "); its log:\n", Tail(LogFrom(log_offset))));
    }
    Pause(milliseconds(50));
  }
}

std::shared_ptr<grpc::Channel> LedgerServer::NewChannel(
    std::shared_ptr<grpc::ChannelCredentials> credentials) const {
  grpc::ChannelArguments arguments;
  // Retry connecting quickly while the server comes up. (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS
  // stays at its default: it is also the time a connection attempt may take.)
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  arguments.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // The test certificates name the server localhost (and 127.0.0.1).
  arguments.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(absl::StrCat("ipv4:", address()), std::move(credentials),
                                   arguments);
}

absl::Status LedgerServer::Start(const std::vector<std::string>& flags, const EnvVars& env,
                                 milliseconds startup_timeout) {
  if (dir_.empty()) return absl::InternalError("mkdtemp failed: no temporary directory");
  if (running()) return absl::FailedPreconditionError("ledgerd is already running");
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = PickFreeLoopbackPort();
    if (port_ == 0) return absl::InternalError("cannot find a free loopback port");
    const size_t log_offset = Log().size();
    std::vector<std::string> args = {absl::StrCat("--listen=", address()),
                                     absl::StrCat("--data_dir=", data_dir_)};
    args.insert(args.end(), flags.begin(), flags.end());
    pid_ = Spawn(args, env);
    if (pid_ < 0) return absl::InternalError(absl::StrCat("cannot start ", LedgerdPath()));
    status = WaitUntilServing(startup_timeout, log_offset);
    if (status.ok()) return status;
    const bool port_taken = !running() && absl::StrContains(LogFrom(log_offset), "cannot listen");
    if (pid_ > 0) Kill();
    if (!port_taken) return status;
  }
  return status;
}

void LedgerServer::Pause(milliseconds duration) {
  if (channel_ == nullptr) {
    std::this_thread::sleep_for(duration);
    return;
  }
  // Waiting on the channel's state makes this thread do the channel's I/O meanwhile. A
  // synchronous client polls its connections only while a call is in flight (or every
  // 5 s from gRPC's backup poller): without this, the server's graceful GOAWAY on SIGTERM
  // and the connection handshake at startup would wait for that poller.
  channel_->WaitForStateChange(channel_->GetState(/*try_to_connect=*/true),
                               std::chrono::system_clock::now() + duration);
}

int LedgerServer::WaitForExit(milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    int code = WaitPid(pid_, milliseconds(0));
    if (code != kNotExited) {
      pid_ = -1;
      return code;
    }
    if (Clock::now() >= deadline) return kNotExited;
    Pause(milliseconds(10));
  }
}

int LedgerServer::Stop(milliseconds timeout) {
  if (pid_ <= 0) return kNotExited;
  kill(pid_, SIGTERM);
  int code = WaitForExit(timeout);
  if (code == kNotExited) {
    KillAndReap(pid_);
    pid_ = -1;
  }
  return code;
}

int LedgerServer::Kill() {
  if (pid_ <= 0) return kNotExited;
  int code = KillAndReap(pid_);
  pid_ = -1;
  return code;
}

absl::Status LedgerServer::Restart(const std::vector<std::string>& flags, const EnvVars& env) {
  if (pid_ > 0) {
    const size_t log_offset = Log().size();
    int code = Stop();
    if (code != 0) {
      return absl::InternalError(absl::StrCat(
          "ledgerd exited with code ", code, " on SIGTERM; its log:\n", Tail(LogFrom(log_offset))));
    }
  }
  return Start(flags, env);
}

ProcessResult LedgerServer::RunUntilExit(const std::vector<std::string>& flags, const EnvVars& env,
                                         milliseconds timeout) {
  std::vector<std::string> argv = {LedgerdPath()};
  if (!HasFlag(flags, "listen")) {
    argv.push_back(absl::StrCat("--listen=127.0.0.1:", PickFreeLoopbackPort()));
  }
  if (!HasFlag(flags, "data_dir")) argv.push_back(absl::StrCat("--data_dir=", data_dir_));
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunProcess(argv, env, timeout);
}

std::unique_ptr<v1::CallerIds::Stub> LedgerServer::caller_ids() const {
  return v1::CallerIds::NewStub(channel_);
}

std::unique_ptr<v1::Credit::Stub> LedgerServer::credit() const {
  return v1::Credit::NewStub(channel_);
}

std::unique_ptr<v1::Events::Stub> LedgerServer::events() const {
  return v1::Events::NewStub(channel_);
}

std::unique_ptr<grpc::health::v1::Health::Stub> LedgerServer::health() const {
  return grpc::health::v1::Health::NewStub(channel_);
}

}  // namespace e2e
}  // namespace callbackledger
