// Test plugin: a good one (also built as the "decoy"). Its model returns logits [-s*x, s*x],
// so label 1 wherever the input is positive. Hyper-parameters: {"scale": s} (default 1),
// {"fail": true} makes the create function throw (the macro must turn that into a message).
#include "medsegPluginExport.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <stdexcept>

#ifndef MEDSEG_TEST_PLUGIN_NAME
#  define MEDSEG_TEST_PLUGIN_NAME "good"
#endif

namespace
{

class SignModel : public medseg::SegmentationModel
{
public:
  SignModel(double scale, int64_t channels)
    : m_Scale(scale)
    , m_Channels(channels)
  {}

  at::Tensor
  Forward(const at::Tensor & batch) override
  {
    c10::InferenceMode guard;
    const at::Tensor x = batch.sum(1, /*keepdim=*/true) * m_Scale;
    return at::cat({ -x, x }, 1);
  }
  c10::Device
  GetDevice() const override
  {
    return c10::Device(c10::kCPU);
  }
  int64_t
  GetNumberOfInputChannels() const override
  {
    return m_Channels;
  }
  std::string
  GetDescription() const override
  {
    return std::string(MEDSEG_TEST_PLUGIN_NAME) + " sign model";
  }

private:
  double  m_Scale;
  int64_t m_Channels;
};

std::unique_ptr<medseg::SegmentationModel>
CreateSignModel(const medseg::PluginFactoryArguments & arguments)
{
  const std::string & json = arguments.hyperParametersJson;
  if (json.find("\"fail\": true") != std::string::npos)
  {
    throw std::runtime_error("asked to fail\nwith a second line");
  }
  double scale = 1.0;
  const auto at = json.find("\"scale\":");
  if (at != std::string::npos)
  {
    scale = std::stod(json.substr(at + 8));
  }
  return std::make_unique<SignModel>(scale, arguments.inputChannels);
}

} // namespace

MEDSEG_DEFINE_PLUGIN(MEDSEG_TEST_PLUGIN_NAME, "2.3.4", "test plugin: logits [-x, x]", CreateSignModel);
