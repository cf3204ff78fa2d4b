// The bad-input contract (issue "Reliability"): every misuse below ends in a specific
// mam::error subclass whose message names the function, what it expected and what it got —
// never a crash, an abort or a silent NaN. One test per row; rows an existing test already
// covers exactly are only listed here:
//
//   row                                          covered by
//   -------------------------------------------  ---------------------------------------------
//   wrong batch shape                            "wrong batch shape" below
//   values outside 0..K-1 other than '?'         "values outside 0..K-1" below; the network
//                                                level: test_nn.cpp "codes are validated: ..."
//   K or D zero or mismatched with the network   "K or D zero or mismatched" below
//   non-finite log f                             test_training.cpp "trainers stop on a
//                                                non-finite target with an error naming the
//                                                sample"; +inf and the step below
//   empty dataset                                "empty dataset" below; mam::Dataset:
//                                                test_data.cpp "Dataset validates codes ..."
//   checkpoint of another architecture / scalar  "checkpoint of another architecture" below
//                                                (trainers); networks: test_network_checkpoint
//                                                .cpp; raw files: test_checkpoint.cpp "loading
//                                                with the wrong scalar type ..."
//   unwritable output directory                  ctest example_unwritable_output
//                                                (examples/CMakeLists.txt): the example fails
//                                                in well under a second, before training
//   interrupted checkpoint write                 "an interrupted checkpoint write" below
//   non-finite loss or gradient in training      "non-finite loss or gradient" below; the
//                                                example: ctest example_numeric_error_keeps
//                                                _checkpoint
//   trainer options out of range                 "a trainer refuses a left-to-right share" below
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <mam/data/dataset.hpp>
#include <mam/mam.hpp>
#include <mam/train/conditional_trainer.hpp>
#include <mam/train/energy_trainer.hpp>
#include <mam/train/marginal_trainer.hpp>

#include "support/temp_dir.hpp"
#include "support/values.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::Vector;

namespace {

using Model = mam::ResidualMarginalizationModel<double>;

Model small_model(Index d = 4, Index k = 3, Index hidden = 8) {
  Rng rng(1);
  return mam::make_residual_model<double>(d, k, hidden, 2, rng);
}

CodeMatrix zeros(Index d, Index n) { return CodeMatrix::Zero(d, n); }

using mam::test::message_of;

// The library-wide message shape: "function: expected <expected>..., got <got>...".
class Names : public Catch::MatcherBase<std::string> {
 public:
  Names(std::string function, std::string expected, std::string got)
      : function_(std::move(function)), expected_(std::move(expected)), got_(std::move(got)) {}
  bool match(const std::string& message) const override {
    return message.rfind(function_ + ": ", 0) == 0 && message.find("expected " + expected_) != std::string::npos &&
           message.find("got " + got_) != std::string::npos;
  }
  std::string describe() const override {
    return "names " + function_ + ", expected " + expected_ + ", got " + got_;
  }

 private:
  std::string function_, expected_, got_;
};
Names names(std::string function, std::string expected, std::string got) {
  return {std::move(function), std::move(expected), std::move(got)};
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("contract: wrong batch shape", "[contract]") {
  const Model model = small_model();
  // A batch is D x B, one sample per column; B x D (a transposed batch) is refused.
  CHECK_THAT(message_of<mam::shape_error>([&] { (void)model.log_marginal(zeros(6, 4)); }),
             Catch::StartsWith("mam::") && Catch::Contains("expected codes with 4 rows") &&
                 Catch::Contains("got 6 rows"));
  CHECK_THAT(message_of<mam::shape_error>([&] { (void)model.conditional_log_probs(zeros(3, 2)); }),
             Catch::Contains("expected codes with 4 rows") && Catch::Contains("got 3 rows"));
  // log f returning one value too few for the batch.
  Model trained = small_model();
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = 8;
  mam::EnergyTrainer<Model> trainer(
      trained, [](const CodeMatrix& x) { return Vector<double>::Zero(x.cols() - 1).eval(); }, options, 1);
  CHECK_THAT(message_of<mam::shape_error>([&] { trainer.step(); }),
             Catch::StartsWith("mam::") && Catch::Contains("expected") && Catch::Contains("got 7"));
  CHECK(trainer.steps() == 0);
}

TEST_CASE("contract: values outside 0..K-1 other than '?'", "[contract]") {
  const Model model = small_model();
  CodeMatrix codes = zeros(4, 3);
  codes(1, 0) = mam::unknown;  // '?' is allowed in a marginal query
  CHECK_NOTHROW(model.log_marginal(codes));
  for (const mam::Code bad : {mam::Code{3}, mam::Code{-2}}) {
    codes(2, 1) = bad;
    CHECK_THAT(message_of<mam::value_error>([&] { (void)model.log_marginal(codes); }),
               Catch::StartsWith("mam::") && Catch::Contains("expected codes in 0..2 or mam::unknown") &&
                   Catch::Contains("got " + std::to_string(bad) + " at position 2 of sample 1"));
  }
  // Training data must be complete: '?' is out of range there.
  Model trained = small_model();
  CodeMatrix data = zeros(4, 5);
  data(0, 4) = mam::unknown;
  CHECK_THAT(message_of<mam::value_error>([&] { mam::ConditionalTrainer<Model>(trained, data, {}, 1); }),
             names("mam::ConditionalTrainer", "complete data samples", "'?' entries"));
  data(0, 4) = 3;
  CHECK_THAT(message_of<mam::value_error>([&] { mam::MarginalTrainer<Model>(trained, data, {}, 1); }),
             names("mam::MarginalTrainer", "codes in 0..2 or mam::unknown", "3 at position 0 of sample 4"));
}

TEST_CASE("contract: K or D zero or mismatched with the network", "[contract]") {
  Rng rng(2);
  CHECK_THAT(message_of<mam::shape_error>([&] { (void)mam::make_residual_model<double>(0, 2, 8, 1, rng); }),
             Catch::StartsWith("mam::") && Catch::Contains("expected") && Catch::Contains("got"));
  CHECK_THROWS_AS(mam::make_residual_model<double>(4, 0, 8, 1, rng), mam::shape_error);
  // Two networks over different D or K do not make a model.
  mam::ResidualMLP<double> marginal({4, 3, 8, 1, 1}, rng);
  mam::ResidualMLP<double> conditional({5, 3, 8, 1, 15}, rng);
  CHECK_THAT(message_of<mam::shape_error>([&] { Model(marginal, conditional); }),
             names("mam::MarginalizationModel", "a conditional network over D=4, K=3", "D=5, K=3"));
  // Data of another D or K than the model.
  Model model = small_model(4, 2);
  CHECK_THAT(message_of<mam::shape_error>([&] { mam::ConditionalTrainer<Model>(model, zeros(5, 10), {}, 1); }),
             names("mam::ConditionalTrainer", "codes with 4 rows", "5 rows"));
  CodeMatrix three_values = zeros(4, 10);
  three_values(3, 9) = 2;  // K = 3 data, K = 2 model
  CHECK_THAT(message_of<mam::value_error>([&] { mam::ConditionalTrainer<Model>(model, three_values, {}, 1); }),
             names("mam::ConditionalTrainer", "codes in 0..1", "2 at position 3 of sample 9"));
}

TEST_CASE("contract: non-finite log f names the sample and changes nothing", "[contract]") {
  Model model = small_model(4, 2);
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = 8;
  auto infinite_at_5 = [](const CodeMatrix& x) {
    Vector<double> values = Vector<double>::Zero(x.cols());
    values[5] = std::numeric_limits<double>::infinity();
    return values;
  };
  mam::EnergyTrainer<Model, std::function<Vector<double>(const CodeMatrix&)>> trainer(model, infinite_at_5, options, 1);
  const Vector<double> before = model.conditional().parameters();
  CHECK_THAT(message_of<mam::numeric_error>([&] { trainer.step(); }),
             Catch::StartsWith("mam::") && Catch::Contains("expected a finite log f(x) for every sample") &&
                 Catch::Contains("got inf for sample (column) 5"));
  CHECK(model.conditional().parameters() == before);
  CHECK(trainer.steps() == 0);
}

TEST_CASE("contract: empty dataset", "[contract]") {
  Model model = small_model();
  const CodeMatrix empty(4, 0);
  // The trainer's own name, not an internal helper's.
  CHECK_THAT(message_of<mam::shape_error>([&] { mam::ConditionalTrainer<Model>(model, empty, {}, 1); }),
             names("mam::ConditionalTrainer", "a non-empty data set", "0 samples"));
  CHECK_THAT(message_of<mam::shape_error>([&] { mam::MarginalTrainer<Model>(model, empty, {}, 1); }),
             names("mam::MarginalTrainer", "a non-empty data set", "0 samples"));
  CHECK_THAT(message_of<mam::shape_error>([&] { mam::Dataset(empty, 3); }),
             names("mam::Dataset", "a non-empty D x N matrix", "4 x 0"));
}

TEST_CASE("contract: a trainer checkpoint of another architecture or scalar type is refused", "[contract]") {
  mam::test::TempDir dir;
  const std::string path = dir.file("trainer.ckpt");
  const CodeMatrix data = zeros(4, 10);
  mam::TrainerOptions options;
  options.batch_size = 4;
  Model saved_model = small_model(4, 3, 8);
  mam::ConditionalTrainer<Model>(saved_model, data, options, 1).save(path);

  Model wider = small_model(4, 3, 16);
  mam::ConditionalTrainer<Model> wider_trainer(wider, data, options, 1);
  const Vector<double> before = wider.conditional().parameters();
  CHECK_THAT(message_of<mam::architecture_error>([&] { wider_trainer.load(path); }),
             Catch::StartsWith("mam::ConditionalTrainer::load: ") && Catch::Contains("hidden") &&
                 Catch::Contains("expected '16', got '8'"));
  CHECK(wider.conditional().parameters() == before);
  CHECK(wider_trainer.steps() == 0);

  using FloatModel = mam::ResidualMarginalizationModel<float>;
  Rng rng(1);
  FloatModel single = mam::make_residual_model<float>(4, 3, 8, 2, rng);
  mam::ConditionalTrainer<FloatModel> float_trainer(single, data, options, 1);
  CHECK_THAT(message_of<mam::architecture_error>([&] { float_trainer.load(path); }),
             Catch::StartsWith("mam::io::load_checkpoint: ") && Catch::Contains("expected float32, got float64"));

  // Another trainer kind over the same model.
  Model same = small_model(4, 3, 8);
  mam::MarginalTrainer<Model> marginal_trainer(same, data, {options, 0.5, 2}, 1);
  CHECK_THAT(message_of<mam::architecture_error>([&] { marginal_trainer.load(path); }),
             Catch::StartsWith("mam::MarginalTrainer::load: ") && Catch::Contains("'trainer'") &&
                 Catch::Contains("expected 'marginal', got 'conditional'"));
}

TEST_CASE("contract: a trainer refuses an OrderMix it cannot use when it is made", "[contract]") {
  const CodeMatrix data = zeros(4, 10);
  Model model = small_model(4, 3, 8);
  mam::TrainerOptions options;
  options.batch_size = 4;
  options.conditional_orders.left_to_right = 1.5;
  CHECK_THAT(message_of<mam::value_error>([&] { mam::ConditionalTrainer<Model>(model, data, options, 1); }),
             Catch::StartsWith("mam::Trainer: ") && Catch::Contains("OrderMix::left_to_right in [0, 1]") &&
                 Catch::Contains("1.5"));
  options.conditional_orders.left_to_right = 1.0;
  options.conditional_orders.padding = 3;  // K = 3 values: codes 0..2
  CHECK_THAT(message_of<mam::value_error>([&] { mam::ConditionalTrainer<Model>(model, data, options, 1); }),
             Catch::StartsWith("mam::Trainer: ") && Catch::Contains("OrderMix::padding in 0..2 or unknown"));
  options.conditional_orders.padding = 0;
  mam::ConditionalTrainer<Model> trainer(model, data, options, 1);
  CHECK(std::isfinite(trainer.step().nll));
}

TEST_CASE("contract: an interrupted checkpoint write leaves the previous checkpoint intact", "[contract]") {
  mam::test::TempDir dir;
  const std::string path = dir.file("trainer.ckpt");
  const CodeMatrix data = zeros(4, 10);
  mam::TrainerOptions options;
  options.batch_size = 4;
  Model model = small_model(4, 3, 32);
  mam::ConditionalTrainer<Model> trainer(model, data, options, 1);
  trainer.step();
  trainer.save(path);
  const std::string previous = read_bytes(path);
  trainer.step();

  // The disk "fills up" halfway through the next save: a file-size limit makes write() stop
  // at half the checkpoint and then fail (EFBIG; SIGXFSZ ignored so it is an error, not a kill).
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &original) == 0);
  rlimit half = original;
  half.rlim_cur = static_cast<rlim_t>(previous.size() / 2);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &half) == 0);
  std::string message;
  try {
    trainer.save(path);
  } catch (const mam::io_error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &original);
  std::signal(SIGXFSZ, previous_handler);

  CHECK_THAT(message, Catch::StartsWith("mam::io::save_checkpoint: cannot write '" + path + "'") &&
                          Catch::Contains("File too large"));
  CHECK(read_bytes(path) == previous);                               // the old file, byte for byte
  CHECK(dir.entries() == std::vector<std::string>{"trainer.ckpt"});  // no temporary left behind
  // ... and it still loads: training continues from step 1.
  Model other = small_model(4, 3, 32);
  mam::ConditionalTrainer<Model> resumed(other, data, options, 9);
  resumed.load(path);
  CHECK(resumed.steps() == 1);
}

TEST_CASE("contract: a non-finite loss or gradient stops training before the update", "[contract]") {
  Model model = small_model();
  mam::detail::TrainingCore<Model> core(model, {}, 1);
  const Vector<double> marginal_before = model.marginal().parameters();
  const Vector<double> conditional_before = model.conditional().parameters();
  mam::StepReport report;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THAT(message_of<mam::numeric_error>([&] { core.apply("mam::SomeTrainer::step", nan, {true, true, false}, report); }),
             names("mam::SomeTrainer::step", "a finite loss", "nan at step 1 (no update made)"));

  // A finite loss with one bad gradient entry: which network's gradient is named.
  core.gradient().set_zero();
  core.gradient().conditional[3] = std::numeric_limits<double>::infinity();
  CHECK_THAT(message_of<mam::numeric_error>([&] { core.apply("mam::SomeTrainer::step", 1.0, {true, true, false}, report); }),
             names("mam::SomeTrainer::step", "a finite conditional-network gradient", "inf at step 1"));
  core.gradient().set_zero();
  core.gradient().marginal[0] = nan;
  CHECK_THAT(message_of<mam::numeric_error>([&] { core.apply("mam::SomeTrainer::step", 1.0, {true, false, false}, report); }),
             names("mam::SomeTrainer::step", "a finite marginal-network gradient", "nan at step 1"));
  core.gradient().set_zero();
  core.gradient().log_z = nan;
  CHECK_THAT(message_of<mam::numeric_error>([&] { core.apply("mam::SomeTrainer::step", 1.0, {false, false, true}, report); }),
             names("mam::SomeTrainer::step", "a finite log_z gradient", "nan at step 1"));

  // Nothing was updated and no step was counted.
  CHECK(model.marginal().parameters() == marginal_before);
  CHECK(model.conditional().parameters() == conditional_before);
  CHECK(model.log_z() == 0.0);
  CHECK(core.steps() == 0);
  // The next good step is step 1.
  core.gradient().set_zero();
  core.apply("mam::SomeTrainer::step", 1.0, {true, true, false}, report);
  CHECK(report.step == 1);
}

TEST_CASE("contract: diverged parameters are reported with the step, the buffer kept complete", "[contract]") {
  Model model = small_model(4, 2);
  mam::EnergyTrainerOptions options;
  options.trainer.batch_size = 8;
  mam::EnergyTrainer<Model, std::function<Vector<double>(const CodeMatrix&)>> trainer(
      model, [](const CodeMatrix& x) { return Vector<double>(Vector<double>::Zero(x.cols())); }, options, 1);
  trainer.step();
  const CodeMatrix buffer_before = trainer.buffer();
  model.conditional().parameters().setConstant(std::numeric_limits<double>::quiet_NaN());
  CHECK_THAT(message_of<mam::numeric_error>([&] { trainer.step(); }),
             names("mam::EnergyTrainer::step", "finite values while refreshing the model samples",
                   "a failure at step 2 (no update made)"));
  CHECK(trainer.buffer() == buffer_before);
  CHECK(trainer.steps() == 1);
}

TEST_CASE("log_sum_exp and softmax are exact for logits of +-1e4", "[contract][numerics]") {
  for (const double big : {1e4, -1e4}) {
    INFO("logits around " << big);
    Vector<double> equal = Vector<double>::Constant(4, big);
    CHECK(mam::log_sum_exp(equal) == big + std::log(4.0));
    Vector<double> probabilities(4);
    mam::softmax(equal, probabilities);
    CHECK(probabilities == Vector<double>::Constant(4, 0.25));

    Vector<double> apart(3);
    apart << big, big - 1.0, big - 2e4;  // the last one underflows exp() entirely
    const double expected_log_norm = big + std::log1p(std::exp(-1.0));
    CHECK(mam::log_sum_exp(apart) == Approx(expected_log_norm).epsilon(1e-15));
    Vector<double> p(3);
    mam::softmax(apart, p);
    CHECK(p.allFinite());
    CHECK(p[0] == Approx(1.0 / (1.0 + std::exp(-1.0))).epsilon(1e-15));
    CHECK(p[1] == Approx(std::exp(-1.0) / (1.0 + std::exp(-1.0))).epsilon(1e-15));
    CHECK(p[2] == 0.0);
    CHECK(mam::log_softmax_at(apart, 2) == Approx(-2e4 - std::log1p(std::exp(-1.0))).epsilon(1e-15));
  }
  // Opposite extremes in one vector: the small one contributes nothing, nothing overflows.
  Vector<double> both(2);
  both << 1e4, -1e4;
  CHECK(mam::log_sum_exp(both) == 1e4);
  Vector<float> p(2);
  mam::softmax(both, p);
  CHECK(p[0] == 1.0f);
  CHECK(p[1] == 0.0f);
  // Single precision logits, whose exp() overflows at 89.
  Vector<float> single(2);
  single << 1e4f, 1e4f;
  CHECK(mam::log_sum_exp(single) == 1e4 + std::log(2.0));
}
