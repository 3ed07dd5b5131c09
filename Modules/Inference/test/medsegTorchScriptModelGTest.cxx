#include "medsegError.h"
#include "medsegFixtureModels.h"
#include "medsegTorchScriptModel.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

using namespace medseg;

TEST(TorchScriptModel, AMismatchedBatchIsOneLineNamingWhatTheModelTakes)
{
  // A 3D convolution over one channel, given three channels (an RGB picture) and then a 2D batch.
  TorchScriptModel model(test::MakeConvolutionModule(2), "conv.pt", TorchScriptModelOptions{ "cpu", true, 1, 3 });
  for (const at::Tensor & batch : { torch::zeros({ 1, 3, 8, 8, 8 }), torch::zeros({ 1, 1, 8, 8 }) })
  {
    try
    {
      model.Forward(batch);
      ADD_FAILURE() << "no error for a batch of shape " << batch.sizes();
    }
    catch (const InputError & e)
    {
      const std::string what = e.what();
      EXPECT_EQ(e.GetSubject(), "conv.pt");
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_EQ(what.find("Traceback"), std::string::npos) << "the interpreter's traceback leaked: " << what;
      EXPECT_NE(what.find("the network refused a batch of shape " + c10::str(batch.sizes())), std::string::npos) << what;
      EXPECT_NE(what.find("takes 1 channel(s) of 3D patches"), std::string::npos) << what;
      EXPECT_NE(what.find("Error: "), std::string::npos) << "LibTorch's own error is missing: " << what;
    }
  }
  // The right batch runs.
  EXPECT_EQ(model.Forward(torch::zeros({ 1, 1, 8, 8, 8 })).sizes(), (std::vector<int64_t>{ 1, 2, 8, 8, 8 }));
}
