#include "medsegTestHelpers.h"
#include "medsegVisualizationTestUtilities.h"
#include "medsegVtkImageBridge.h"

#include <vtkDataArray.h>
#include <vtkPointData.h>

#include <gtest/gtest.h>

using namespace medseg;

TEST(VtkImageBridge, KeepsOriginSpacingDirectionAndVoxels)
{
  for (const char * name : { "identity", "RAS", "permuted", "oblique" })
  {
    test::Geometry g;
    g.size = { 7, 5, 3 };
    g.spacing = { 0.5, 1.5, 2.5 };
    g.origin = { -10.0, 20.0, 3.0 };
    g = test::WithDirection(g, name);
    const auto image = test::MakeImage(g, [](long x, long y, long z) { return float(x + 10 * y + 100 * z); });
    const auto vtk = ImageToVTKImageData(image);
    int        dims[3];
    vtk->GetDimensions(dims);
    EXPECT_EQ(dims[0], 7);
    EXPECT_EQ(dims[1], 5);
    EXPECT_EQ(dims[2], 3);
    // Every index maps to the same world point in both libraries.
    for (int k = 0; k < 3; ++k)
      for (int j = 0; j < 5; ++j)
        for (int i = 0; i < 7; ++i)
        {
          double                 vtkPoint[3];
          FloatImage3::PointType itkPoint;
          vtk->TransformIndexToPhysicalPoint(i, j, k, vtkPoint);
          image->TransformIndexToPhysicalPoint({ { i, j, k } }, itkPoint);
          for (int d = 0; d < 3; ++d)
            ASSERT_NEAR(vtkPoint[d], itkPoint[d], 1e-9) << name;
          const int ijk[3] = { i, j, k };
          ASSERT_EQ(vtk->GetPointData()->GetScalars()->GetTuple1(vtk->ComputePointId(const_cast<int *>(ijk))),
                    i + 10 * j + 100 * k);
        }
    // The 4x4 index-to-world matrix agrees as well.
    const auto   m = IndexToWorldMatrix(image);
    const double index[4] = { 2, 3, 1, 1 };
    double       world[4];
    m->MultiplyPoint(index, world);
    FloatImage3::PointType itkPoint;
    image->TransformIndexToPhysicalPoint({ { 2, 3, 1 } }, itkPoint);
    for (int d = 0; d < 3; ++d)
      EXPECT_NEAR(world[d], itkPoint[d], 1e-9) << name;
  }
}

TEST(VtkImageBridge, CopiesLabelMaps)
{
  const auto labels = test::MakeLabelBall({}, { 8, 8, 8 }, 4, 3);
  const auto vtk = ImageToVTKImageData(labels);
  EXPECT_EQ(vtk->GetScalarType(), VTK_UNSIGNED_SHORT);
  double range[2];
  vtk->GetScalarRange(range);
  EXPECT_EQ(range[0], 0.0);
  EXPECT_EQ(range[1], 3.0);
}
