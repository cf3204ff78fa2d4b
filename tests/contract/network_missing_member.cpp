// Compile-fail test of the network contract (mam/nn/network.hpp): a network type that lacks
// one member must fail to compile at the model, with a message that names the member.
// MAM_TEST_OMIT picks what is left out (tests/CMakeLists.txt builds one target per case and
// looks for the message in the compiler's output); 0 leaves nothing out and must compile.
#include <string>
#include <utility>
#include <vector>

#include <mam/mam.hpp>
#include <mam/train/conditional_trainer.hpp>

namespace {

struct Network {
  explicit Network(mam::Index outputs) : outputs_(outputs) {}
  using scalar_type = double;
#if MAM_TEST_OMIT != 1
  struct Context {
    mam::CodeMatrix codes;
    mam::Matrix<double> output;
  };
#endif
  mam::Index num_variables() const { return 2; }
  mam::Index num_values() const { return 2; }
  mam::Index output_size() const { return outputs_; }
  mam::Index num_parameters() const { return parameters_.size(); }
#if MAM_TEST_OMIT != 3
  mam::Vector<double>& parameters() { return parameters_; }
  const mam::Vector<double>& parameters() const { return parameters_; }
#endif
  void set_parameters(const Eigen::Ref<const mam::Vector<double>>& values) { parameters_ = values; }
  std::vector<std::pair<std::string, std::string>> architecture() const { return {{"kind", "test"}}; }
#if MAM_TEST_OMIT != 1
  void forward(const Eigen::Ref<const mam::CodeMatrix>& codes, Context& context, bool) const {
    context.codes = codes;
    context.output = mam::Matrix<double>::Zero(outputs_, codes.cols());
  }
#if MAM_TEST_OMIT != 2
  void backward(Context&, const Eigen::Ref<const mam::Matrix<double>>&, mam::Vector<double>&) const {}
#endif
#endif
  mam::Matrix<double> operator()(const Eigen::Ref<const mam::CodeMatrix>& codes) const {
    return mam::Matrix<double>::Zero(outputs_, codes.cols());
  }
  mam::Index outputs_;
  mam::Vector<double> parameters_ = mam::Vector<double>::Zero(3);
};

}  // namespace

int main() {
#if MAM_TEST_OMIT == 4
  // A trainer of something that is not a MarginalizationModel.
  mam::CodeMatrix data = mam::CodeMatrix::Zero(2, 4);
  Network network(4);
  mam::ConditionalTrainer<Network> trainer(network, data, {}, 1);
#else
  mam::MarginalizationModel<Network> model(Network(1), Network(4));
  return static_cast<int>(model.log_marginal(mam::CodeMatrix::Zero(2, 1)).size()) - 1;
#endif
}
