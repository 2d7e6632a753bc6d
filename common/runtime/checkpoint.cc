#include "common/runtime/checkpoint.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "common/base/binary_record.h"

namespace fedsilo {
namespace {
constexpr char kMagic[] = "FEDSILOCKPT3";
constexpr char kMagicWithoutAverage[] = "FEDSILOCKPT2";
constexpr char kMagicWithoutState[] = "FEDSILOCKPT1";

bool StartsWith(const std::string& bytes, const char* magic) {
  return bytes.compare(0, std::strlen(magic), magic) == 0;
}
}  // namespace

absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
  BinaryRecordWriter record(kMagic);
  record.Put<int32_t>(checkpoint.round);
  record.Put<int32_t>(checkpoint.skipped_rounds);
  record.Put<uint64_t>(checkpoint.eligible.size());
  for (int silo : checkpoint.eligible) record.Put<int32_t>(silo);
  record.PutVector(checkpoint.global);
  record.PutVector(checkpoint.coordinator_state);
  record.Put<int32_t>(checkpoint.averaged_rounds);
  record.PutVector(checkpoint.average);
  record.PutString(checkpoint.config_yaml);
  return WriteFileAtomically(path, record.Finish());
}

absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path) {
  FEDSILO_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
  const bool with_state = !StartsWith(bytes, kMagicWithoutState);
  const bool with_average = with_state && !StartsWith(bytes, kMagicWithoutAverage);
  const char* magic = with_average ? kMagic : with_state ? kMagicWithoutAverage : kMagicWithoutState;
  FEDSILO_ASSIGN_OR_RETURN(
      BinaryRecordReader record,
      BinaryRecordReader::Open(std::move(bytes), magic, "checkpoint " + path));
  Checkpoint checkpoint;
  int32_t round = 0, skipped = 0;
  uint64_t count = 0;
  FEDSILO_RETURN_IF_ERROR(record.Get(&round));
  FEDSILO_RETURN_IF_ERROR(record.Get(&skipped));
  FEDSILO_RETURN_IF_ERROR(record.Get(&count));
  checkpoint.round = round;
  checkpoint.skipped_rounds = skipped;
  for (uint64_t i = 0; i < count; ++i) {
    int32_t silo = 0;
    FEDSILO_RETURN_IF_ERROR(record.Get(&silo));
    checkpoint.eligible.push_back(silo);
  }
  FEDSILO_RETURN_IF_ERROR(record.GetVector(&checkpoint.global));
  if (with_state) FEDSILO_RETURN_IF_ERROR(record.GetVector(&checkpoint.coordinator_state));
  if (with_average) {
    int32_t averaged = 0;
    FEDSILO_RETURN_IF_ERROR(record.Get(&averaged));
    FEDSILO_RETURN_IF_ERROR(record.GetVector(&checkpoint.average));
    if (averaged < 0 || (averaged == 0) != (checkpoint.average.size() == 0)) {
      return absl::DataLossError("checkpoint " + path + ": its iterate average holds " +
                                 std::to_string(averaged) + " models but " +
                                 std::to_string(checkpoint.average.size()) + " numbers");
    }
    checkpoint.averaged_rounds = averaged;
  }
  FEDSILO_RETURN_IF_ERROR(record.GetString(&checkpoint.config_yaml));
  FEDSILO_RETURN_IF_ERROR(record.ExpectEnd());
  return checkpoint;
}

}  // namespace fedsilo
