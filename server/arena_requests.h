// Requests parsed onto a protobuf arena, for the methods every PBX call goes through.
//
// gRPC's default holder puts a request message on the call's own arena, but each string and
// sub-message of it (a ReserveRequest has eight and a Rate) is then a heap allocation and a
// free of its own. Here the request lives on a protobuf arena whose first block is inside
// the holder, so parsing it allocates once, for the holder, whatever its fields (a string
// longer than 15 bytes still allocates its characters). The response stays an ordinary
// message: the Ledger builds it on the heap, and moving that in swaps instead of copying.
#ifndef CALLBACKLEDGER_SERVER_ARENA_REQUESTS_H_
#define CALLBACKLEDGER_SERVER_ARENA_REQUESTS_H_

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

#include <cstddef>

namespace callbackledger {

template <typename Request, typename Response>
class ArenaRequests final : public grpc::MessageAllocator<Request, Response> {
 public:
  // Room for the request in the holder: a PBX call's requests take a few hundred bytes. A
  // bigger one (a SyncReservations of many ids) gets more blocks from the heap.
  static constexpr size_t kInlineBytes = 1024;

  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(&response_);
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = kInlineBytes;
      return options;
    }

    alignas(std::max_align_t) char block_[kInlineBytes];
    google::protobuf::Arena arena_;  // after block_, which it starts in
    Response response_;
  };
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_ARENA_REQUESTS_H_
