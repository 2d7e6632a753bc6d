#include "fedsilo/v1/wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmath>

namespace fedsilo::wire {

void ToProto(const Vector& values, v1::DenseVector* out) {
  out->mutable_values()->Assign(values.data(), values.data() + values.size());
}

absl::StatusOr<Vector> FromProto(const v1::DenseVector& values, int64_t expected_size,
                                 const std::string& what) {
  if (expected_size >= 0 && values.values_size() != expected_size) {
    return absl::InvalidArgumentError(what + " has " + std::to_string(values.values_size()) +
                                      " values, expected " + std::to_string(expected_size));
  }
  Vector out(values.values_size());
  for (int i = 0; i < values.values_size(); ++i) {
    const double v = values.values(i);
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError(what + " has a non-finite value at index " +
                                        std::to_string(i));
    }
    out[i] = v;
  }
  return out;
}

void ToProto(const SiloPrivacyReport& report, v1::PrivacyReport* out) {
  out->set_record_level_dp(report.record_level_dp);
  out->set_train_records(static_cast<uint64_t>(report.train_records));
  out->set_noise_multiplier(report.noise_multiplier);
  out->set_sigma_mean(report.sigma_mean);
  out->set_noisy_queries(static_cast<uint64_t>(report.noisy_queries));
  out->set_epsilon(report.epsilon);
  out->set_delta(report.delta);
  out->set_eps0(report.eps0);
  out->set_min_shuffled_reports(static_cast<uint64_t>(report.min_shuffled_reports));
  out->set_clip(report.clip);
  out->set_reproducible_noise(report.reproducible_noise);
  out->set_target_epsilon(report.target_epsilon);
  out->set_sampling_rate(report.sampling_rate);
}

SiloPrivacyReport FromProto(const v1::PrivacyReport& report) {
  SiloPrivacyReport out;
  out.known = true;
  out.record_level_dp = report.record_level_dp();
  out.train_records = static_cast<int64_t>(report.train_records());
  out.noise_multiplier = report.noise_multiplier();
  out.sigma_mean = report.sigma_mean();
  out.noisy_queries = static_cast<int64_t>(report.noisy_queries());
  out.epsilon = report.epsilon();
  out.delta = report.delta();
  out.eps0 = report.eps0();
  out.min_shuffled_reports = static_cast<int64_t>(report.min_shuffled_reports());
  out.clip = report.clip();
  out.reproducible_noise = report.reproducible_noise();
  out.target_epsilon = report.target_epsilon();
  out.sampling_rate = report.sampling_rate();
  return out;
}

bool IsLoopbackAddress(const std::string& host_port) {
  std::string host = host_port;
  if (!host.empty() && host.front() == '[') {  // [::1]:port
    const size_t close = host.find(']');
    if (close == std::string::npos || (close + 1 < host.size() && host[close + 1] != ':')) {
      return false;
    }
    host = host.substr(1, close - 1);
  } else if (const size_t colon = host.rfind(':');
             colon != std::string::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  // Only literal loopback addresses (and localhost): a host name such as 127.0.0.1.example.org
  // resolves wherever its DNS says.
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  return false;
}

}  // namespace fedsilo::wire
