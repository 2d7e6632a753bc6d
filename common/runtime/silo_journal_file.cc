#include "common/runtime/silo_journal_file.h"

#include <cstdint>

#include "common/base/binary_record.h"

namespace fedsilo {
namespace {
constexpr char kMagic[] = "FEDSILOJRN2";
constexpr char kMagicV1[] = "FEDSILOJRN1";  // before sealed answers: read, never written
}  // namespace

absl::Status WriteSiloJournal(const std::string& path, const SiloJournal& journal) {
  BinaryRecordWriter record(kMagic);
  record.Put<uint64_t>(journal.ledger.size());
  for (const DpEvent& event : journal.ledger) {
    record.Put<int32_t>(static_cast<int32_t>(event.subsampling));
    record.Put<double>(event.sampling_rate);
    record.Put<double>(event.noise_multiplier);
    record.Put<int64_t>(event.count);
  }
  record.Put<int32_t>(journal.last_round);
  record.Put<uint64_t>(journal.last_global_digest);
  record.Put<uint8_t>(journal.has_last_update ? 1 : 0);
  if (journal.has_last_update) {
    record.Put<int32_t>(journal.last_update.round);
    record.Put<int32_t>(journal.last_update.silo_id);
    record.Put<double>(journal.last_update.weight);
    record.PutVector(journal.last_update.delta);
    record.PutString(std::string(journal.last_update.sealed.begin(), journal.last_update.sealed.end()));
  }
  return WriteFileAtomically(path, record.Finish());
}

absl::StatusOr<SiloJournal> ReadSiloJournal(const std::string& path) {
  FEDSILO_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
  absl::StatusOr<BinaryRecordReader> opened =
      BinaryRecordReader::Open(bytes, kMagic, "silo journal " + path);
  const bool v1 = !opened.ok() && BinaryRecordReader::Open(bytes, kMagicV1, "").ok();
  if (v1) opened = BinaryRecordReader::Open(std::move(bytes), kMagicV1, "silo journal " + path);
  if (!opened.ok()) return opened.status();
  BinaryRecordReader& record = *opened;
  SiloJournal journal;
  uint64_t events = 0;
  FEDSILO_RETURN_IF_ERROR(record.Get(&events));
  for (uint64_t i = 0; i < events; ++i) {
    DpEvent event;
    int32_t subsampling = 0;
    FEDSILO_RETURN_IF_ERROR(record.Get(&subsampling));
    if (subsampling < 0 || subsampling > static_cast<int32_t>(Subsampling::kWithReplacement)) {
      return absl::DataLossError("silo journal " + path + " is corrupt: unknown sampler");
    }
    event.subsampling = static_cast<Subsampling>(subsampling);
    FEDSILO_RETURN_IF_ERROR(record.Get(&event.sampling_rate));
    FEDSILO_RETURN_IF_ERROR(record.Get(&event.noise_multiplier));
    FEDSILO_RETURN_IF_ERROR(record.Get(&event.count));
    journal.ledger.push_back(event);
  }
  int32_t last_round = 0;
  uint8_t has_update = 0;
  FEDSILO_RETURN_IF_ERROR(record.Get(&last_round));
  FEDSILO_RETURN_IF_ERROR(record.Get(&journal.last_global_digest));
  FEDSILO_RETURN_IF_ERROR(record.Get(&has_update));
  journal.last_round = last_round;
  journal.has_last_update = has_update != 0;
  if (journal.has_last_update) {
    int32_t round = 0, silo = 0;
    FEDSILO_RETURN_IF_ERROR(record.Get(&round));
    FEDSILO_RETURN_IF_ERROR(record.Get(&silo));
    journal.last_update.round = round;
    journal.last_update.silo_id = silo;
    FEDSILO_RETURN_IF_ERROR(record.Get(&journal.last_update.weight));
    FEDSILO_RETURN_IF_ERROR(record.GetVector(&journal.last_update.delta));
    if (!v1) {
      std::string sealed;
      FEDSILO_RETURN_IF_ERROR(record.GetString(&sealed));
      journal.last_update.sealed.assign(sealed.begin(), sealed.end());
    }
  }
  FEDSILO_RETURN_IF_ERROR(record.ExpectEnd());
  return journal;
}

}  // namespace fedsilo
