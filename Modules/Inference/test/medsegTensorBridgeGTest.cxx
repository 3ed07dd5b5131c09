#include "medsegTensorBridge.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

using namespace medseg;

namespace
{
test::Geometry
Asymmetric()
{
  test::Geometry g = test::WithDirection({}, "oblique");
  g.size = { 5, 4, 3 }; // every axis a different length, so a transposition cannot go unnoticed
  g.spacing = { 0.5, 1.0, 2.0 };
  g.origin = { 1, 2, 3 };
  return g;
}
float
Code(long x, long y, long z)
{
  return static_cast<float>(x + 10 * y + 100 * z);
}
} // namespace

TEST(TensorBridge, ImageBecomesNCDHWWithXFastestAndNoCopy)
{
  const auto       image = test::MakeImage(Asymmetric(), Code);
  const at::Tensor t = ImageToTensor(image.GetPointer());
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{ 1, 1, 3, 4, 5 }));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.data_ptr<float>(), image->GetBufferPointer()); // zero copy
  for (long z = 0; z < 3; ++z)
    for (long y = 0; y < 4; ++y)
      for (long x = 0; x < 5; ++x)
        ASSERT_FLOAT_EQ(t[0][0][z][y][x].item<float>(), Code(x, y, z));
}

TEST(TensorBridge, TheTensorKeepsTheImageAlive)
{
  at::Tensor t;
  {
    const auto image = test::MakeImage(Asymmetric(), Code);
    t = ImageToTensor(image.GetPointer());
  }
  EXPECT_FLOAT_EQ(t[0][0][2][3][4].item<float>(), Code(4, 3, 2));
}

TEST(TensorBridge, RoundTripKeepsValuesAndGeometry)
{
  const auto image = test::MakeImage(Asymmetric(), Code);
  const auto back = TensorToImage<itk::Image<short, 3>>(ImageToTensor(image.GetPointer())[0][0], image);
  EXPECT_EQ(back->GetSpacing(), image->GetSpacing());
  EXPECT_EQ(back->GetOrigin(), image->GetOrigin());
  EXPECT_EQ(back->GetDirection(), image->GetDirection());
  EXPECT_EQ(back->GetPixel({ { 4, 1, 2 } }), 214);
  EXPECT_EQ(back->GetPixel({ { 0, 3, 1 } }), 130);
}

TEST(TensorBridge, ShapeMismatchIsRefused)
{
  const auto image = test::MakeImage(Asymmetric(), Code);
  EXPECT_THROW(TensorToImage<FloatImage3>(at::zeros({ 5, 4, 3 }), image), std::invalid_argument);
  EXPECT_THROW(TensorToVectorImage(at::zeros({ 3, 4, 5 }), image), std::invalid_argument);
}

TEST(TensorBridge, VectorImagesRoundTripComponentByComponent)
{
  const auto      image = test::MakeImage(Asymmetric(), Code);
  const at::Tensor classes = at::stack({ ImageToTensor(image.GetPointer())[0][0], -ImageToTensor(image.GetPointer())[0][0] });
  const auto       vector = TensorToVectorImage(classes, image);
  ASSERT_EQ(vector->GetNumberOfComponentsPerPixel(), 2u);
  EXPECT_FLOAT_EQ(vector->GetPixel({ { 3, 2, 1 } })[0], Code(3, 2, 1));
  EXPECT_FLOAT_EQ(vector->GetPixel({ { 3, 2, 1 } })[1], -Code(3, 2, 1));
  const at::Tensor view = ImageToTensor(vector.GetPointer());
  ASSERT_EQ(view.sizes(), (std::vector<int64_t>{ 1, 2, 3, 4, 5 }));
  EXPECT_TRUE(at::equal(view[0], classes));
}
