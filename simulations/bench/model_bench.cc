// Benchmarks of the models' hot paths on realistic shapes: per-example gradients (the DP-SGD inner
// loop), full gradients and Hessian-vector products. Batches rotate through pre-drawn random row
// sets of a dataset larger than the caches, as in a real run. BENCHMARK_MAIN is in
// placeholder_bench.cc.
#include <memory>
#include <span>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/base/rng.h"
#include "common/data/batch_sampler.h"
#include "common/dp/clipping.h"
#include "common/model/model_registry.h"

namespace fedsilo {
namespace {

struct Setup {
  std::unique_ptr<Model> model;
  Dataset data;
  std::vector<std::vector<int>> batches;
  Vector w;

  Batch batch(int64_t iteration) const {
    return Batch{&data, batches[static_cast<size_t>(iteration) % batches.size()]};
  }
};

Setup MakeSetup(const ModelConfig& config, int n, int d, int classes, int batch_size) {
  Setup s;
  s.model = MakeModel(config, d, classes).value();
  Rng rng(1234);
  s.data.num_classes = classes;
  s.data.x.resize(n, d);
  s.data.y.resize(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) s.data.x(i, j) = rng.Normal();
    s.data.y[i] = static_cast<int>(rng.UniformInt(static_cast<uint64_t>(classes)));
  }
  for (int b = 0; b < 64; ++b) {
    std::vector<int> rows(batch_size);
    for (int& r : rows) r = static_cast<int>(rng.UniformInt(static_cast<uint64_t>(n)));
    s.batches.push_back(std::move(rows));
  }
  s.w = s.model->InitialParameters(rng);
  for (int j = 0; j < s.w.size(); ++j) s.w[j] += 0.01 * rng.Normal();
  return s;
}

ModelConfig Logistic() { return ModelConfig{}; }
ModelConfig Softmax() {
  ModelConfig c;
  c.type = "softmax";
  return c;
}
ModelConfig MnistMlp() {
  ModelConfig c;
  c.type = "mlp";
  c.hidden = {80, 60};
  c.activation = "elu";
  return c;
}

// UCI Adult after one-hot: d = 105, ~32.5k training records (range(1): records in the dataset;
// a silo holding a tenth of Adult touches ~3.3k of them, which stay in cache).
void BM_LogisticPerExample(benchmark::State& state) {
  const Setup s = MakeSetup(Logistic(), static_cast<int>(state.range(1)), 105, 2,
                            static_cast<int>(state.range(0)));
  Matrix out;
  int64_t it = 0;
  for (auto _ : state) {
    s.model->PerExampleGradients(s.w, s.batch(it++), &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_LogisticPerExample)->Args({64, 32561})->Args({64, 3256});

// The whole DP-SGD step on a silo: per-record clipped gradient sum (fused), Gaussian noise.
void BM_LogisticDpStep(benchmark::State& state) {
  const Setup s = MakeSetup(Logistic(), 32561, 105, 2, static_cast<int>(state.range(0)));
  Vector sum, noise(s.model->num_parameters());
  Rng rng(7);
  int64_t it = 0;
  for (auto _ : state) {
    s.model->ClippedGradientSum(s.w, s.batch(it++), 1.0, &sum);
    rng.FillNormal(std::span<double>(noise.data(), static_cast<size_t>(noise.size())), 1.0);
    sum += noise;
    benchmark::DoNotOptimize(sum.data());
  }
}
BENCHMARK(BM_LogisticDpStep)->Arg(64);

void BM_LogisticGradient(benchmark::State& state) {
  const Setup s = MakeSetup(Logistic(), 32561, 105, 2, static_cast<int>(state.range(0)));
  Vector g;
  int64_t it = 0;
  for (auto _ : state) {
    s.model->Gradient(s.w, s.batch(it++), &g);
    benchmark::DoNotOptimize(g.data());
  }
}
BENCHMARK(BM_LogisticGradient)->Arg(64);

// MNIST shapes (10k records to keep memory modest; still far larger than the caches).
void BM_SoftmaxPerExample(benchmark::State& state) {
  const Setup s = MakeSetup(Softmax(), 10000, 784, 10, static_cast<int>(state.range(0)));
  Matrix out;
  int64_t it = 0;
  for (auto _ : state) {
    s.model->PerExampleGradients(s.w, s.batch(it++), &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_SoftmaxPerExample)->Arg(64)->Unit(benchmark::kMicrosecond);

void BM_SoftmaxGradient(benchmark::State& state) {
  const Setup s = MakeSetup(Softmax(), 10000, 784, 10, static_cast<int>(state.range(0)));
  Vector g;
  int64_t it = 0;
  for (auto _ : state) {
    s.model->Gradient(s.w, s.batch(it++), &g);
    benchmark::DoNotOptimize(g.data());
  }
}
BENCHMARK(BM_SoftmaxGradient)->Arg(64)->Unit(benchmark::kMicrosecond);

void BM_MlpPerExample(benchmark::State& state) {
  const Setup s = MakeSetup(MnistMlp(), 10000, 784, 10, static_cast<int>(state.range(0)));
  Matrix out;
  int64_t it = 0;
  for (auto _ : state) {
    s.model->PerExampleGradients(s.w, s.batch(it++), &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_MlpPerExample)->Arg(32)->Arg(64)->Unit(benchmark::kMicrosecond);

void BM_MlpGradient(benchmark::State& state) {
  const Setup s = MakeSetup(MnistMlp(), 10000, 784, 10, static_cast<int>(state.range(0)));
  Vector g;
  int64_t it = 0;
  for (auto _ : state) {
    s.model->Gradient(s.w, s.batch(it++), &g);
    benchmark::DoNotOptimize(g.data());
  }
}
BENCHMARK(BM_MlpGradient)->Arg(32)->Arg(64)->Unit(benchmark::kMicrosecond);

void BM_MlpHessianVectorProduct(benchmark::State& state) {
  const Setup s = MakeSetup(MnistMlp(), 10000, 784, 10, static_cast<int>(state.range(0)));
  Rng rng(3);
  Vector v(s.model->num_parameters());
  for (int j = 0; j < v.size(); ++j) v[j] = rng.Normal();
  Vector hv;
  int64_t it = 0;
  for (auto _ : state) {
    s.model->HessianVectorProduct(s.w, s.batch(it++), v, &hv);
    benchmark::DoNotOptimize(hv.data());
  }
}
BENCHMARK(BM_MlpHessianVectorProduct)->Arg(32)->Arg(64)->Unit(benchmark::kMicrosecond);

// Multiply-adds of one MLP 784-80-60-10 step on a batch of n records: the forward products, the
// weight-gradient products and the two deltas propagated down (the input's delta is not needed).
double MnistMlpStepMultiplyAdds(int n) {
  const double forward = 784.0 * 80 + 80.0 * 60 + 60.0 * 10;
  return n * (2.0 * forward + 10.0 * 60 + 60.0 * 80);
}

// The private step of ISRL-DP on the MNIST MLP: per-record clipped gradient sum and Gaussian noise
// on all 68,290 coordinates. BM_MlpDpStep/64/1 clips by ghost norms (no per-example gradients, what
// a silo runs); /64/0 the old way, per-example gradients and then clipping the rows. The counter
// is the multiply-add rate the step achieves (compare BM_EigenGemm's).
void BM_MlpDpStep(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const bool ghost = state.range(1) == 1;
  const Setup s = MakeSetup(MnistMlp(), 10000, 784, 10, n);
  Matrix rows;
  Vector sum, noise(s.model->num_parameters());
  Rng rng(7);
  int64_t it = 0;
  for (auto _ : state) {
    if (ghost) {
      s.model->ClippedGradientSum(s.w, s.batch(it++), 1.0, &sum);
    } else {
      s.model->PerExampleGradients(s.w, s.batch(it++), &rows);
      ClipAndSumRows(rows, 1.0, &sum);
    }
    rng.FillNormal(std::span<double>(noise.data(), static_cast<size_t>(noise.size())), 1.0);
    sum += noise;
    benchmark::DoNotOptimize(sum.data());
  }
  state.SetLabel(ghost ? "ghost clipping" : "per-example gradients");
  state.counters["multiply_adds_per_s"] = benchmark::Counter(
      MnistMlpStepMultiplyAdds(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MlpDpStep)->Args({64, 1})->Args({64, 0})->Unit(benchmark::kMicrosecond);

// Eigen's matrix product (one thread, this build's instruction set), as the yardstick of the
// multiply-add rate: m x k times k x n, row-major as fedsilo's matrices. {64, 784, 80} is the
// MLP step's largest product; {512, 512, 512} is as close to peak as Eigen gets.
void BM_EigenGemm(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0)), k = static_cast<int>(state.range(1)),
            n = static_cast<int>(state.range(2));
  Rng rng(5);
  Matrix a(m, k), b(k, n), c(m, n);
  for (int i = 0; i < a.size(); ++i) a.data()[i] = rng.Normal();
  for (int i = 0; i < b.size(); ++i) b.data()[i] = rng.Normal();
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["multiply_adds_per_s"] = benchmark::Counter(
      double(m) * k * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EigenGemm)->Args({64, 784, 80})->Args({512, 512, 512})->Unit(benchmark::kMicrosecond);

// Gaussian noise for the MLP's 68,290 coordinates: the ziggurat (FillNormal, what a silo adds)
// against the polar method one draw at a time (Normal, what it added before).
void BM_GaussianNoise(benchmark::State& state) {
  std::vector<double> out(68290);
  Rng rng(9);
  const bool ziggurat = state.range(0) == 1;
  for (auto _ : state) {
    if (ziggurat) {
      rng.FillNormal(out, 1.0);
    } else {
      for (double& v : out) v = rng.Normal();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(ziggurat ? "ziggurat (FillNormal)" : "polar (Normal)");
  state.counters["draws_per_s"] =
      benchmark::Counter(68290.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GaussianNoise)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

// One silo's batch without replacement (Floyd's algorithm): 64 of an Adult-sized silo's 326
// records, of an MNIST silo's 3,000, and of 60,000 (a large pool).
void BM_SampleBatchWithoutReplacement(benchmark::State& state) {
  std::vector<int> pool(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < pool.size(); ++i) pool[i] = static_cast<int>(3 * i);
  std::vector<int> batch;
  Rng rng(11);
  for (auto _ : state) {
    SampleBatch(pool, 64, Sampling::kWithoutReplacement, rng, &batch);
    benchmark::DoNotOptimize(batch.data());
  }
}
BENCHMARK(BM_SampleBatchWithoutReplacement)->Arg(326)->Arg(1000)->Arg(3000)->Arg(60000);

}  // namespace
}  // namespace fedsilo
