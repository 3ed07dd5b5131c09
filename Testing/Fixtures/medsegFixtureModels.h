#ifndef medsegFixtureModels_h
#define medsegFixtureModels_h

#include <torch/script.h>

#include <string>
#include <vector>

namespace medseg::test
{

/** Small TorchScript models with known answers, built in C++ (torch::jit::Module::define), so
 * tests and the pipeline-check demo need no Python and no download. All take [N,1,D,H,W]. */

/** Two classes, voxel-wise: logits [0, steepness * (x - threshold)], so label 1 where x > threshold. */
torch::jit::Module
MakeThresholdModule(double threshold, double steepness = 10.0);

/** Like MakeThresholdModule on a 3x3x3 mean of the input (zero padded at the patch border). */
torch::jit::Module
MakeSmoothedThresholdModule(double threshold, double steepness = 4.0);

/** Returns the same logits everywhere: [N, K, D, H, W] filled with `logits[k]`. */
torch::jit::Module
MakeConstantModule(const std::vector<double> & logits);

/** K classes: logit k = -(x - centres[k])^2, so each voxel gets the class whose centre is nearest. */
torch::jit::Module
MakeNearestCentreModule(const std::vector<double> & centres);

/** A 3x3x3 convolution with K output channels, zero padding 1: output depends on neighbours and
 * on where the patch border is, so blending matters. Weights are seeded. */
torch::jit::Module
MakeConvolutionModule(int64_t classes, uint64_t seed = 7, int64_t inputChannels = 1);

/** Two classes from two input channels, any spatial dimension ([N,C,D,H,W] or [N,C,H,W]):
 * logits [0, steepness * (x[:, first] - x[:, second])], so label 1 where channel `first` is larger. */
torch::jit::Module
MakeChannelComparisonModule(int64_t first, int64_t second, double steepness = 10.0);

/** Two classes after instance normalization of each patch (per sample and channel, no affine, as
 * nn.InstanceNorm3d): logits [0, steepness * (n + offset)] with n = (x - mean) / sqrt(var + 1e-5).
 * A patch that sees one constant value normalizes to 0 everywhere and is labelled 1 (offset > 0):
 * the arbitrary answer a trained network gives on a window of pure background. */
torch::jit::Module
MakeInstanceNormModule(double offset = 0.5, double steepness = 10.0);

/** Saves `module` to `path` (TorchScript zip). */
void
SaveModule(torch::jit::Module & module, const std::string & path);

} // namespace medseg::test

#endif
