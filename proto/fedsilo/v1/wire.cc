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
  out->set_secure_sum(report.secure_sum);
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
  out.secure_sum = report.secure_sum();
  return out;
}

void ToProto(const SumShare& share, v1::SumShare* out) {
  out->set_bits(share.bits);
  out->set_shares(share.shares);
  out->set_scale(share.scale);
  out->set_range(share.range);
  out->set_silos(share.silos);
  out->mutable_values()->Add(share.values.begin(), share.values.end());
}

absl::StatusOr<SumShare> FromProto(const v1::SumShare& share, int64_t expected_size,
                                   const std::string& what) {
  const auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(what + ": " + why);
  };
  if (share.bits() < 1 || share.bits() > 62) {
    return bad("a share of " + std::to_string(share.bits()) + " modulus bits, outside [1, 62]");
  }
  if (share.values_size() != expected_size) {
    return bad("a share of " + std::to_string(share.values_size()) + " values, expected " +
               std::to_string(expected_size));
  }
  if (share.silos() < 0 || !(share.scale() > 0.0) || !std::isfinite(share.scale()) ||
      !(share.range() > 0.0) || !std::isfinite(share.range())) {
    return bad("a share with a negative silo count or a scale or range that is not positive");
  }
  SumShare out;
  out.bits = share.bits();
  out.shares = share.shares();
  out.scale = share.scale();
  out.range = share.range();
  out.silos = share.silos();
  out.values.assign(share.values().begin(), share.values().end());
  for (size_t i = 0; i < out.values.size(); ++i) {
    if (out.values[i] >> out.bits != 0) {
      return bad("share value " + std::to_string(i) + " is not below 2^" + std::to_string(out.bits));
    }
  }
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
