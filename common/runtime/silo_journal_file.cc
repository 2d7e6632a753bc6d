#include "common/runtime/silo_journal_file.h"

#include <cstdint>

#include "common/base/binary_record.h"

namespace fedsilo {
namespace {
constexpr char kMagic[] = "FEDSILOJRN6";
// Older journals are read, never written: v1 before sealed answers, v2 with one sealed report,
// v3 before run ids (read as run "") and with Poisson queries recorded as add/remove-one, v4
// before the shuffler shares of secure sums, v5 with secure-sum answers of the earlier protocol
// (a sealed coordinator share), which this version cannot re-send: their rounds are kept, the
// answer is dropped (asked that round again, the silo refuses it, as a dropout).
constexpr char kMagicV5[] = "FEDSILOJRN5";
constexpr char kMagicV4[] = "FEDSILOJRN4";
constexpr char kMagicV3[] = "FEDSILOJRN3";
constexpr char kMagicV2[] = "FEDSILOJRN2";
constexpr char kMagicV1[] = "FEDSILOJRN1";
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
    record.Put<uint64_t>(journal.last_update.sealed.size());
    for (const SealedReport& sealed : journal.last_update.sealed) {
      record.PutString(std::string(sealed.begin(), sealed.end()));
    }
  }
  record.Put<int64_t>(journal.shuffled_rounds);
  record.PutString(journal.run_id);
  // The shuffler shares of the last answer (secure sums).
  const std::vector<SumShare>& shares =
      journal.has_last_update ? journal.last_update.sum_shares : std::vector<SumShare>{};
  record.Put<uint64_t>(shares.size());
  for (const SumShare& share : shares) {
    record.Put<int32_t>(share.bits);
    record.Put<int32_t>(share.shares);
    record.Put<double>(share.scale);
    record.Put<double>(share.range);
    record.Put<int64_t>(share.silos);
    record.Put<uint64_t>(share.values.size());
    for (uint64_t v : share.values) record.Put<uint64_t>(v);
  }
  return WriteFileAtomically(path, record.Finish());
}

absl::StatusOr<SiloJournal> ReadSiloJournal(const std::string& path) {
  FEDSILO_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
  int version = 6;
  absl::StatusOr<BinaryRecordReader> opened =
      BinaryRecordReader::Open(bytes, kMagic, "silo journal " + path);
  for (const auto& [older, magic] :
       {std::pair{5, kMagicV5}, std::pair{4, kMagicV4}, std::pair{3, kMagicV3},
        std::pair{2, kMagicV2}, std::pair{1, kMagicV1}}) {
    if (!opened.ok() && BinaryRecordReader::Open(bytes, magic, "").ok()) {
      version = older;
      opened = BinaryRecordReader::Open(bytes, magic, "silo journal " + path);
    }
  }
  if (!opened.ok()) return opened.status();
  BinaryRecordReader& record = *opened;
  SiloJournal journal;
  uint64_t events = 0;
  FEDSILO_RETURN_IF_ERROR(record.Get(&events));
  for (uint64_t i = 0; i < events; ++i) {
    DpEvent event;
    int32_t subsampling = 0;
    FEDSILO_RETURN_IF_ERROR(record.Get(&subsampling));
    if (subsampling < 0 || subsampling > static_cast<int32_t>(Subsampling::kPoissonReplaceOne) ||
        (version < 4 && subsampling > static_cast<int32_t>(Subsampling::kWithReplacement))) {
      return absl::DataLossError("silo journal " + path + " is corrupt: unknown sampler");
    }
    event.subsampling = static_cast<Subsampling>(subsampling);
    // The silo released its size: its Poisson queries were replace-one (see the header).
    if (version < 4 && event.subsampling == Subsampling::kPoisson) {
      event.subsampling = Subsampling::kPoissonReplaceOne;
    }
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
    uint64_t sealed_count = version == 2 ? 1 : 0;
    if (version >= 3) FEDSILO_RETURN_IF_ERROR(record.Get(&sealed_count));
    for (uint64_t i = 0; i < sealed_count; ++i) {
      std::string sealed;
      FEDSILO_RETURN_IF_ERROR(record.GetString(&sealed));
      // v2 wrote an empty string for an answer sent in the clear.
      if (!sealed.empty() || version >= 3) journal.last_update.sealed.emplace_back(sealed.begin(), sealed.end());
    }
  }
  if (version >= 3) FEDSILO_RETURN_IF_ERROR(record.Get(&journal.shuffled_rounds));
  if (version >= 4) FEDSILO_RETURN_IF_ERROR(record.GetString(&journal.run_id));
  if (version >= 5) {
    uint64_t share_count = 0;
    FEDSILO_RETURN_IF_ERROR(record.Get(&share_count));
    if (share_count > 0 && !journal.has_last_update) {
      return absl::DataLossError("silo journal " + path + " is corrupt: shares without an answer");
    }
    for (uint64_t i = 0; i < share_count; ++i) {
      if (version == 5) {  // an earlier protocol's share payload: skipped, the answer dropped
        std::string bytes;
        FEDSILO_RETURN_IF_ERROR(record.GetString(&bytes));
        continue;
      }
      SumShare share;
      int32_t bits = 0, shares = 0;
      uint64_t count = 0;
      FEDSILO_RETURN_IF_ERROR(record.Get(&bits));
      FEDSILO_RETURN_IF_ERROR(record.Get(&shares));
      FEDSILO_RETURN_IF_ERROR(record.Get(&share.scale));
      FEDSILO_RETURN_IF_ERROR(record.Get(&share.range));
      FEDSILO_RETURN_IF_ERROR(record.Get(&share.silos));
      FEDSILO_RETURN_IF_ERROR(record.Get(&count));
      if (bits < 1 || bits > 62 || count > (uint64_t{1} << 27)) {
        return absl::DataLossError("silo journal " + path + " is corrupt: a bad shuffler share");
      }
      share.bits = bits;
      share.shares = shares;
      share.values.resize(count);
      for (uint64_t& v : share.values) {
        FEDSILO_RETURN_IF_ERROR(record.Get(&v));
        if (v >> bits != 0) {
          return absl::DataLossError("silo journal " + path +
                                     " is corrupt: a shuffler share value beyond its modulus");
        }
      }
      journal.last_update.sum_shares.push_back(std::move(share));
    }
    if (version == 5 && share_count > 0) {
      journal.has_last_update = false;
      journal.last_update = SiloUpdate{};
    }
  }
  FEDSILO_RETURN_IF_ERROR(record.ExpectEnd());
  return journal;
}

}  // namespace fedsilo
