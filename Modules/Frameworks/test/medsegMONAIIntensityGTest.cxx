// MONAIScaleIntensity against rescale_array's formula, worked by hand.
#include "medsegMONAITransforms.h"

#include <gtest/gtest.h>

namespace
{

medseg::MONAIImage
Ramp()
{
  medseg::MONAIImage image;
  // Channel 0: 0 .. 23; channel 1: 100 + 2 * (0 .. 23).
  const at::Tensor ramp = at::arange(24, at::kFloat).view({ 1, 2, 3, 4 });
  image.data = at::cat({ ramp, ramp * 2 + 100 }).contiguous();
  image.affine = at::eye(4, at::kDouble);
  return image;
}

} // namespace

TEST(MONAIIntensity, ScaleIntensityRescalesOverAllChannelsOrEach)
{
  medseg::MONAIImage all = Ramp();
  medseg::MONAIScaleIntensity(all, 0.0, 1.0, std::nullopt, false);
  // One range over both channels: 0 .. 146.
  EXPECT_FLOAT_EQ(all.data[0][0][0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(all.data[1][1][2][3].item<float>(), 1.0f);
  EXPECT_NEAR(all.data[0][1][2][3].item<float>(), 23.0f / 146.0f, 1e-7);

  medseg::MONAIImage each = Ramp();
  medseg::MONAIScaleIntensity(each, -1.0, 1.0, std::nullopt, true);
  for (int64_t c = 0; c < 2; ++c)
  {
    EXPECT_FLOAT_EQ(each.data[c].min().item<float>(), -1.0f);
    EXPECT_FLOAT_EQ(each.data[c].max().item<float>(), 1.0f);
  }
  EXPECT_NEAR(each.data[1][0][1][2].item<float>(), 6.0f / 23.0f * 2.0f - 1.0f, 1e-6);
}

TEST(MONAIIntensity, ScaleIntensityOfAConstantImageAndWithAFactor)
{
  medseg::MONAIImage flat;
  flat.data = at::full({ 1, 2, 2, 2 }, 5.0f);
  flat.affine = at::eye(4, at::kDouble);
  medseg::MONAIScaleIntensity(flat, 0.5, 1.0, std::nullopt, false);
  EXPECT_TRUE(at::allclose(flat.data, at::full({ 1, 2, 2, 2 }, 2.5f))) << "rescale_array: x * minv";

  medseg::MONAIImage half = Ramp();
  medseg::MONAIScaleIntensity(half, 0.0, std::nullopt, std::nullopt, false);
  EXPECT_FLOAT_EQ(half.data.max().item<float>(), 1.0f) << "one bound only: the normalized array";

  medseg::MONAIImage scaled = Ramp();
  medseg::MONAIScaleIntensity(scaled, std::nullopt, std::nullopt, 0.5, false);
  EXPECT_FLOAT_EQ(scaled.data[0][1][2][3].item<float>(), 23.0f * 1.5f);
}
