// End to end: health and reflection, what ledgerd refuses to start with (a non-loopback
// address without --insecure, an address in use, a bad setting, another currency), and
// settings from the environment. Every RPC carries a deadline; every wait is bounded.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/e2e_client.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace e2e {
namespace {

using grpc::StatusCode;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

// ---------------------------------------------------------------------------------------
// Health and reflection.

void* Tag(intptr_t n) { return reinterpret_cast<void*>(n); }

// Sends one request on grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo (a
// bidirectional stream) through the generic stub and returns the first reply, both as
// serialized bytes: this build has no generated reflection client.
grpc::Status AskReflection(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& request, std::string* reply) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(RpcDeadline());
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  // Waits for the operation `tag`, skipping any other; false on failure or time-out.
  auto await = [&](void* tag) {
    while (true) {
      void* got = nullptr;
      bool ok = false;
      grpc::CompletionQueue::NextStatus next = queue.AsyncNext(&got, &ok, RpcDeadline());
      if (next != grpc::CompletionQueue::GOT_EVENT) return false;
      if (got == tag) return ok;
    }
  };
  grpc::ByteBuffer answer;
  call->StartCall(Tag(1));
  bool ok = await(Tag(1));
  if (ok) {
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, Tag(2));
    ok = await(Tag(2));
  }
  if (ok) {
    call->WritesDone(Tag(3));
    ok = await(Tag(3));
  }
  if (ok) {
    call->Read(&answer, Tag(4));
    ok = await(Tag(4));
  }
  if (!ok) context.TryCancel();
  grpc::Status status;
  call->Finish(&status, Tag(5));
  bool finished = await(Tag(5));
  queue.Shutdown();
  void* ignored_tag = nullptr;
  bool ignored_ok = false;
  while (queue.Next(&ignored_tag, &ignored_ok)) {
  }
  call.reset();
  if (!finished) return grpc::Status(StatusCode::DEADLINE_EXCEEDED, "reflection: no answer");
  if (!status.ok()) return status;
  if (!ok) return grpc::Status(StatusCode::UNKNOWN, "reflection: the stream failed");
  std::vector<grpc::Slice> slices;
  if (!answer.Dump(&slices).ok()) return grpc::Status(StatusCode::INTERNAL, "bad reply");
  reply->clear();
  for (const grpc::Slice& part : slices) {
    reply->append(reinterpret_cast<const char*>(part.begin()), part.size());
  }
  return grpc::Status::OK;
}

// The length-delimited fields numbered `number` of a serialized message.
std::vector<std::string> Fields(const std::string& bytes, int number) {
  google::protobuf::UnknownFieldSet fields;
  std::vector<std::string> found;
  if (!fields.ParseFromString(bytes)) return found;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    if (field.number() == number &&
        field.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      found.push_back(field.length_delimited());
    }
  }
  return found;
}

TEST(HealthTest, ServingAfterStartupAndReflectionIsOn) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  HealthStatus::ServingStatus health;
  ASSERT_TRUE(IsOk(server.CheckHealth(&health)));
  EXPECT_EQ(health, HealthStatus::SERVING);
  const std::string log = server.Log();
  EXPECT_TRUE(absl::StrContains(
      log, absl::StrCat("listening on ", server.address(), " (port ", server.port(), ")")))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "serving: ")) << log;

  // ServerReflectionRequest{list_services: "*"}: field 7.
  google::protobuf::UnknownFieldSet list_request;
  list_request.AddLengthDelimited(7, "*");
  std::string request;
  ASSERT_TRUE(list_request.SerializeToString(&request));
  std::string reply;
  ASSERT_TRUE(IsOk(AskReflection(server.channel(), request, &reply)));
  // ServerReflectionResponse.list_services_response (6) .service (1) .name (1).
  std::vector<std::string> services;
  for (const std::string& list : Fields(reply, 6)) {
    for (const std::string& service : Fields(list, 1)) {
      for (const std::string& name : Fields(service, 1)) services.push_back(name);
    }
  }
  for (const char* expected :
       {"callbackledger.v1.CallerIds", "callbackledger.v1.Credit", "callbackledger.v1.Events",
        "callbackledger.v1.Calls", "callbackledger.v1.Reports", "grpc.health.v1.Health"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), expected), services.end())
        << expected << " is not listed by reflection";
  }

  // ServerReflectionRequest{file_containing_symbol (4)}: the file that defines CallerIds.
  google::protobuf::UnknownFieldSet symbol_request;
  symbol_request.AddLengthDelimited(4, "callbackledger.v1.CallerIds");
  ASSERT_TRUE(symbol_request.SerializeToString(&request));
  ASSERT_TRUE(IsOk(AskReflection(server.channel(), request, &reply)));
  // .file_descriptor_response (4) .file_descriptor_proto (1, repeated).
  std::vector<std::string> files;
  for (const std::string& response : Fields(reply, 4)) {
    for (const std::string& file : Fields(response, 1)) {
      google::protobuf::FileDescriptorProto proto;
      if (proto.ParseFromString(file)) files.push_back(proto.name());
    }
  }
  EXPECT_NE(std::find(files.begin(), files.end(), "callbackledger/v1/caller_ids.proto"),
            files.end())
      << "reflection did not describe CallerIds; files: " << files.size();

  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

// ---------------------------------------------------------------------------------------
// A non-loopback address without --insecure is refused.

TEST(StartupTest, RefusesNonLoopbackWithoutInsecure) {
  const int port = e2e::PickFreeLoopbackPort();
  // Every interface, and a name that only starts like a loopback address.
  for (const char* host : {"0.0.0.0", "127.example.invalid"}) {
    LedgerServer server;
    ProcessResult run = server.RunUntilExit({absl::StrCat("--listen=", host, ":", port)}, {},
                                            std::chrono::seconds(10));
    EXPECT_FALSE(run.timed_out) << "ledgerd started on " << host << " without --insecure";
    EXPECT_NE(run.exit_code, 0) << run.Describe();
    EXPECT_TRUE(absl::StrContains(run.err, "--insecure")) << run.Describe();
  }
}

TEST(StartupTest, RefusesAnAddressAlreadyInUse) {
  LedgerServer first;
  ASSERT_TRUE(IsOk(first.Start()));
  // A second ledgerd (another data directory) on the same address must not start: with
  // both listening, clients would be spread over two different ledgers.
  LedgerServer second;
  ProcessResult run = second.RunUntilExit({absl::StrCat("--listen=", first.address())}, {},
                                          std::chrono::seconds(5));
  EXPECT_FALSE(run.timed_out) << "a second ledgerd started on " << first.address()
                              << ", which the first one listens on:\n"
                              << run.Describe();
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "cannot listen")) << run.Describe();
  EXPECT_EQ(first.Stop(), 0) << first.Log();
}

// ---------------------------------------------------------------------------------------
// Settings from the environment; the command line wins.

TEST(EnvironmentTest, LicenseLimitFromEnvironment) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start({}, {{"LEDGERD_LICENSE_MAX_ACTIVE_CALLERIDS", "1"}})));
  Client client(server);
  v1::LicenseUsage usage;
  ASSERT_TRUE(IsOk(client.Usage("", &usage)));
  EXPECT_EQ(usage.max_active_callerids(), 1u);
  v1::CallerId reply;
  ASSERT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001"), &reply)));
  EXPECT_TRUE(
      HasCode(client.Add(NewCallerId("0100", "5550002"), &reply), StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(IsOk(client.Add(Disabled(NewCallerId("0100", "5550002")), &reply)));
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

TEST(EnvironmentTest, CommandLineOverridesEnvironment) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start({"--license_max_active_callerids=3"},
                                {{"LEDGERD_LICENSE_MAX_ACTIVE_CALLERIDS", "1"}})));
  Client client(server);
  v1::LicenseUsage usage;
  ASSERT_TRUE(IsOk(client.Usage("", &usage)));
  EXPECT_EQ(usage.max_active_callerids(), 3u);
  v1::CallerId reply;
  EXPECT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001"), &reply)));
  EXPECT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550002"), &reply)));
  EXPECT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550003"), &reply)));
  EXPECT_TRUE(
      HasCode(client.Add(NewCallerId("0100", "5550004"), &reply), StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

TEST(EnvironmentTest, InvalidValueInEnvironmentIsRefused) {
  LedgerServer server;
  ProcessResult run = server.RunUntilExit({}, {{"LEDGERD_LICENSE_MAX_ACTIVE_CALLERIDS", "lots"}});
  EXPECT_FALSE(run.timed_out) << "ledgerd started with an invalid setting";
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "LEDGERD_LICENSE_MAX_ACTIVE_CALLERIDS")) << run.Describe();
}

// ---------------------------------------------------------------------------------------
// A data directory keeps its currency.

TEST(StartupTest, RefusesAnotherCurrencyForTheDataDirectory) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start({"--currency=EUR"})));
  v1::CallerId added;
  {
    Client client(server);
    ASSERT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001", "7"), &added)));
  }
  ASSERT_EQ(server.Stop(), 0) << server.Log();

  ProcessResult run = server.RunUntilExit({"--currency=USD"});
  EXPECT_FALSE(run.timed_out) << "ledgerd started with USD on an EUR data directory";
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "EUR")) << run.Describe();

  // The default currency (USD) is refused too, and so is one from the environment.
  run = server.RunUntilExit({});
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "EUR")) << run.Describe();
  run = server.RunUntilExit({}, {{"LEDGERD_CURRENCY", "GBP"}});
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "EUR")) << run.Describe();

  // With its own currency it starts, its data intact.
  ASSERT_TRUE(IsOk(server.Start({}, {{"LEDGERD_CURRENCY", "EUR"}})));
  Client client(server);
  v1::CallerId got;
  ASSERT_TRUE(IsOk(client.Get(added.id(), &got)));
  EXPECT_EQ(got.total_credit(), "7.00");
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

}  // namespace
}  // namespace e2e
}  // namespace callbackledger
