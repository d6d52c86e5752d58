#include "tests/wire_call.h"

#include <algorithm>
#include <vector>

#include "grpcpp/generic/generic_stub.h"

namespace callbackledger {
namespace e2e {
namespace {

void AppendVarint(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void* Tag(intptr_t n) { return reinterpret_cast<void*>(n); }

// One generic call driven step by step on its own completion queue.
class RawCall {
 public:
  RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
          std::chrono::system_clock::time_point deadline)
      : stub_(channel),
        give_up_(std::max(deadline, std::chrono::system_clock::now()) + std::chrono::seconds(5)) {
    context_.set_deadline(deadline);
    call_ = stub_.PrepareCall(&context_, method, &queue_);
  }

  ~RawCall() {
    call_.reset();
    queue_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue_.Next(&tag, &ok)) {
    }
  }

  grpc::Status Run(const std::string& request, std::string* reply, bool server_stream) {
    call_->StartCall(Tag(1));
    bool ok = Await(Tag(1));
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    if (ok) call_->Write(buffer, Tag(2));
    ok = ok && Await(Tag(2));
    if (ok) call_->WritesDone(Tag(3));
    ok = ok && Await(Tag(3));
    grpc::ByteBuffer answer;
    if (ok) call_->Read(&answer, Tag(4));
    ok = ok && Await(Tag(4));
    if (ok && reply != nullptr) *reply = Flatten(answer);
    if (ok && server_stream) context_.TryCancel();  // it would go on
    grpc::Status status;
    call_->Finish(&status, Tag(5));
    if (!Await(Tag(5)) && status.ok()) {
      return grpc::Status(grpc::StatusCode::UNKNOWN, "the call did not finish");
    }
    return status;
  }

 private:
  // Waits for the operation `tag`, skipping any other; false on failure or time-out.
  bool Await(void* tag) {
    while (true) {
      void* got = nullptr;
      bool ok = false;
      if (queue_.AsyncNext(&got, &ok, give_up_) != grpc::CompletionQueue::GOT_EVENT) {
        context_.TryCancel();
        return false;
      }
      if (got == tag) return ok;
    }
  }

  static std::string Flatten(const grpc::ByteBuffer& buffer) {
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (!buffer.Dump(&slices).ok()) return bytes;
    for (const grpc::Slice& part : slices) {
      bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
    return bytes;
  }

  grpc::GenericStub stub_;
  grpc::CompletionQueue queue_;
  grpc::ClientContext context_;
  std::chrono::system_clock::time_point give_up_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
};

}  // namespace

std::string VarintField(int number, uint64_t value) {
  std::string out;
  AppendVarint(&out, static_cast<uint64_t>(number) << 3);
  AppendVarint(&out, value);
  return out;
}

std::string LengthField(int number, std::string_view bytes) {
  std::string out;
  AppendVarint(&out, (static_cast<uint64_t>(number) << 3) | 2);
  AppendVarint(&out, bytes.size());
  out.append(bytes);
  return out;
}

grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& request, std::chrono::system_clock::time_point deadline,
                     std::string* reply, bool server_stream) {
  RawCall call(channel, method, deadline);
  return call.Run(request, reply, server_stream);
}

}  // namespace e2e
}  // namespace callbackledger
