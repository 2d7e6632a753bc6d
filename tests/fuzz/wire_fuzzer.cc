// Fuzz target: the v1 protobuf messages a coordinator, silo or shuffler accepts from a peer
// (proto/fedsilo/v1/fedsilo.proto), decoded from bytes as gRPC does, then passed through the
// conversions the edges apply to them (proto/fedsilo/v1/wire.h): every DenseVector through
// wire::FromProto with an expected size, every PrivacyReport through wire::FromProto, and a
// Welcome's or LinkWelcome's experiment YAML through ParseExperimentConfig, as the silo and
// the shuffler do. The stream handlers themselves (NetworkTransport::HandleReply, the silo's and
// shuffler's loops) are private to their gRPC services and not reached from here.
// Input: a selector byte (which message: SiloMessage, CoordinatorMessage, ShufflerMessage,
// LinkMessage), a size byte (the expected vector length; 255 = any), then the serialized message.
// Contract checked: decoding and conversion return a value or an error, never crash; a vector
// that converts has the expected size and only finite values.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "common/runtime/config_parser.h"
#include "google/protobuf/stubs/logging.h"
#include "fedsilo/v1/fedsilo.pb.h"
#include "fedsilo/v1/wire.h"

namespace {

namespace v1 = fedsilo::v1;
int64_t expected_size = -1;

void Convert(const v1::DenseVector& vector) {
  absl::StatusOr<fedsilo::Vector> values = fedsilo::wire::FromProto(vector, expected_size, "fuzz");
  if (!values.ok()) return;
  if (expected_size >= 0 && values->size() != expected_size) __builtin_trap();
  for (double v : *values) {
    if (!std::isfinite(v)) __builtin_trap();
  }
}

void Convert(const v1::PrivacyReport& report) { (void)fedsilo::wire::FromProto(report); }

void Config(const std::string& yaml) {
  (void)fedsilo::ParseExperimentConfig(yaml, "the coordinator's config", {});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // a refused UTF-8 string is logged: noise here
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  expected_size = data[1] == 255 ? -1 : data[1];
  const void* bytes = data + 2;
  const int length = static_cast<int>(size - 2);
  switch (data[0] % 4) {
    case 0: {  // silo -> coordinator (or -> shuffler)
      v1::SiloMessage message;
      if (!message.ParseFromArray(bytes, length)) return 0;
      if (message.has_ready()) Convert(message.ready().privacy());
      if (message.has_update()) {
        Convert(message.update().delta());
        Convert(message.update().privacy());
      }
      if (message.has_refusal()) Convert(message.refusal().privacy());
      break;
    }
    case 1: {  // coordinator (or shuffler) -> silo
      v1::CoordinatorMessage message;
      if (!message.ParseFromArray(bytes, length)) return 0;
      if (message.has_welcome()) Config(message.welcome().experiment_yaml());
      if (message.has_task()) Convert(message.task().global_parameters());
      break;
    }
    case 2: {  // shuffler -> coordinator
      v1::ShufflerMessage message;
      if (!message.ParseFromArray(bytes, length)) return 0;
      if (message.has_batch()) {
        for (const auto& [silo, report] : message.batch().privacy()) Convert(report);
      }
      break;
    }
    default: {  // coordinator -> shuffler
      v1::LinkMessage message;
      if (!message.ParseFromArray(bytes, length)) return 0;
      if (message.has_welcome()) Config(message.welcome().experiment_yaml());
      if (message.has_round()) Convert(message.round().global_parameters());
      break;
    }
  }
  return 0;
}
