#include "medsegError.h"
#include "medsegLabelSurface.h"
#include "medsegTestHelpers.h"
#include "medsegVisualizationTestUtilities.h"

#include <vtkFieldData.h>
#include <vtkPLYReader.h>
#include <vtkSTLReader.h>
#include <vtkStringArray.h>
#include <vtkXMLPolyDataReader.h>

#include <gtest/gtest.h>

#include <filesystem>

using namespace medseg;

namespace
{

double
VoxelVolume(const LabelImage3 * labels)
{
  const auto s = labels->GetSpacing();
  return s[0] * s[1] * s[2];
}

/** The mesh points mapped back into continuous index space of `labels`. */
std::vector<itk::ContinuousIndex<double, 3>>
PointsInIndexSpace(const LabelImage3 * labels, vtkPolyData * mesh, bool ras = false)
{
  std::vector<itk::ContinuousIndex<double, 3>> indices;
  for (vtkIdType i = 0; i < mesh->GetNumberOfPoints(); ++i)
  {
    double p[3];
    mesh->GetPoint(i, p);
    LabelImage3::PointType point;
    point[0] = ras ? -p[0] : p[0];
    point[1] = ras ? -p[1] : p[1];
    point[2] = p[2];
    itk::ContinuousIndex<double, 3> index;
    labels->TransformPhysicalPointToContinuousIndex(point, index);
    indices.push_back(index);
  }
  return indices;
}

} // namespace

TEST(LabelSurface, BallVolumeWithinThreePercentOfVoxelVolume)
{
  struct Case
  {
    const char *     name;
    MeshOptions      options;
    std::array<double, 3> spacing;
  };
  MeshOptions defaults;
  MeshOptions cubes;
  cubes.algorithm = SurfaceAlgorithm::DiscreteMarchingCubes;
  MeshOptions decimated;
  decimated.decimation = 0.5;
  MeshOptions rough;
  rough.smoothingIterations = 0;
  for (const auto & c : { Case{ "default", defaults, { 1, 1, 1 } }, Case{ "anisotropic", defaults, { 0.8, 1.0, 1.3 } },
                          Case{ "marching cubes", cubes, { 1, 1, 1 } }, Case{ "decimated", decimated, { 1, 1, 1 } },
                          Case{ "unsmoothed", rough, { 1, 1, 1 } } })
  {
    test::Geometry g;
    g.size = { 40, 40, 40 };
    g.spacing = c.spacing;
    const auto labels = test::MakeLabelBall(g, { 19.5, 20, 19 }, 12.3);
    const auto mesh = ComputeLabelSurface(labels, 1, c.options);
    ASSERT_GT(mesh->GetNumberOfPolys(), 100) << c.name;
    const double expected = test::CountLabel(labels, 1) * VoxelVolume(labels);
    const double volume = ComputeEnclosedVolume(mesh);
    EXPECT_GT(volume, 0.0) << c.name << ": triangles must face outwards";
    EXPECT_NEAR(volume / expected, 1.0, 0.03) << c.name << ": mesh " << volume << " voxels " << expected;
  }
}

TEST(LabelSurface, DecimationRemovesTriangles)
{
  const auto  labels = test::MakeLabelBall({ { 32, 32, 32 } }, { 16, 16, 16 }, 10);
  MeshOptions half;
  half.decimation = 0.5;
  const auto full = ComputeLabelSurface(labels, 1, MeshOptions());
  const auto reduced = ComputeLabelSurface(labels, 1, half);
  EXPECT_LT(reduced->GetNumberOfPolys(), 0.6 * full->GetNumberOfPolys());
  EXPECT_GT(reduced->GetNumberOfPolys(), 0.4 * full->GetNumberOfPolys());
}

TEST(LabelSurface, BoundsMatchThePhantomInWorldCoordinates)
{
  test::Geometry g;
  g.size = { 32, 36, 40 };
  g.spacing = { 0.7, 1.1, 1.6 };
  g.origin = { -30.0, 12.5, 100.0 };
  const std::array<double, 3> c{ 15, 17, 20 };
  const double                r = 9;
  const auto                  labels = test::MakeLabelBall(g, c, r);
  const auto                  mesh = ComputeLabelSurface(labels, 1, MeshOptions());
  double                      b[6];
  mesh->GetBounds(b);
  for (int d = 0; d < 3; ++d)
  {
    // The smoothed ball has the voxel ball's radius: the staircase poles (half a voxel beyond c +- r)
    // are rounded off, so the bounds are c +- r within half a voxel.
    const double lo = g.origin[d] + (c[d] - r) * g.spacing[d];
    const double hi = g.origin[d] + (c[d] + r) * g.spacing[d];
    EXPECT_NEAR(b[2 * d], lo, 0.5 * g.spacing[d]) << "axis " << d;
    EXPECT_NEAR(b[2 * d + 1], hi, 0.5 * g.spacing[d]) << "axis " << d;
  }
}

TEST(LabelSurface, PointsMapBackIntoTheLabelForPermutedAndObliqueDirections)
{
  // An asymmetric box, so that a wrong axis permutation or sign shows up in the bounds.
  const std::array<long, 3> lower{ 4, 6, 8 }, upper{ 11, 21, 17 };
  for (const char * name : { "identity", "RAS", "permuted", "oblique", "mirrored" })
  {
    test::Geometry g;
    g.size = { 20, 28, 26 };
    g.spacing = { 1.2, 0.9, 1.5 };
    g.origin = { 5.0, -7.0, 13.0 };
    if (std::string(name) == "mirrored")
      g.direction = { -1, 0, 0, 0, 1, 0, 0, 0, 1 }; // determinant -1
    else
      g = test::WithDirection(g, name);
    const auto labels = test::MakeLabels(g, [&](long x, long y, long z) {
      return static_cast<unsigned short>(x >= lower[0] && x <= upper[0] && y >= lower[1] && y <= upper[1] &&
                                         z >= lower[2] && z <= upper[2]
                                           ? 2
                                           : 0);
    });
    for (const auto coordinates : { CoordinateSystem::LPS, CoordinateSystem::RAS })
    {
      MeshOptions options;
      options.coordinates = coordinates;
      const auto mesh = ComputeLabelSurface(labels, 2, options);
      ASSERT_GT(mesh->GetNumberOfPoints(), 0);
      const auto indices = PointsInIndexSpace(labels, mesh, coordinates == CoordinateSystem::RAS);
      std::array<double, 3> lo{ 1e9, 1e9, 1e9 }, hi{ -1e9, -1e9, -1e9 };
      for (const auto & index : indices)
      {
        for (int d = 0; d < 3; ++d)
        {
          // Every point lies on the voxel boundary of the box (half a voxel outside the outermost
          // voxel centres), give or take what smoothing moves near edges and corners.
          ASSERT_GE(index[d], lower[d] - 0.5 - 0.25) << name << " axis " << d;
          ASSERT_LE(index[d], upper[d] + 0.5 + 0.25) << name << " axis " << d;
          lo[d] = std::min(lo[d], index[d]);
          hi[d] = std::max(hi[d], index[d]);
        }
      }
      for (int d = 0; d < 3; ++d)
      {
        // ... and the surface spans the box along each index axis (faces are flat, smoothing keeps them).
        EXPECT_NEAR(lo[d], lower[d] - 0.5, 0.35) << name << " axis " << d;
        EXPECT_NEAR(hi[d], upper[d] + 0.5, 0.35) << name << " axis " << d;
      }
      const double expected = test::CountLabel(labels, 2) * VoxelVolume(labels);
      EXPECT_GT(ComputeEnclosedVolume(mesh), 0.0) << name << ": triangles must face outwards";
      EXPECT_NEAR(ComputeEnclosedVolume(mesh) / expected, 1.0, 0.05) << name;
    }
  }
}

TEST(LabelSurface, RasIsLpsWithXAndYNegated)
{
  const auto  labels = test::MakeLabelBall(test::WithDirection({ { 24, 24, 24 } }, "oblique"), { 12, 11, 13 }, 6);
  MeshOptions ras;
  ras.coordinates = CoordinateSystem::RAS;
  const auto a = ComputeLabelSurface(labels, 1, MeshOptions());
  const auto b = ComputeLabelSurface(labels, 1, ras);
  ASSERT_EQ(a->GetNumberOfPoints(), b->GetNumberOfPoints());
  for (vtkIdType i = 0; i < a->GetNumberOfPoints(); i += 7)
  {
    double p[3], q[3];
    a->GetPoint(i, p);
    b->GetPoint(i, q);
    EXPECT_NEAR(p[0], -q[0], 1e-3);
    EXPECT_NEAR(p[1], -q[1], 1e-3);
    EXPECT_NEAR(p[2], q[2], 1e-3);
  }
}

TEST(LabelSurface, AbsentLabelGivesAnEmptyMesh)
{
  const auto labels = test::MakeLabelBall({}, { 8, 8, 8 }, 3);
  EXPECT_EQ(ComputeLabelSurface(labels, 5, MeshOptions())->GetNumberOfPoints(), 0);
  EXPECT_EQ(FindLabelValues(labels), std::vector<unsigned int>{ 1 });
}

TEST(LabelSurface, WritesEveryFormatWithNamesColoursAndAClosedSurface)
{
  test::Geometry g;
  g.size = { 32, 32, 32 };
  const auto labels = test::MakeLabels(g, [](long x, long y, long z) {
    const double d1 = (x - 10) * (x - 10) + (y - 16) * (y - 16) + (z - 16) * (z - 16);
    const double d2 = (x - 23) * (x - 23) + (y - 16) * (y - 16) + (z - 16) * (z - 16);
    return static_cast<unsigned short>(d1 <= 36 ? 1 : (d2 <= 25 ? 4 : 0));
  });
  LabelTable table;
  table.Set({ 1, "left kidney", { 10, 200, 30 } });
  test::TemporaryDirectory dir;
  MeshOptions              options;
  options.formats = { MeshFormat::STL, MeshFormat::VTP, MeshFormat::OBJ, MeshFormat::PLY };
  const auto summaries = WriteLabelMeshes(labels, dir / "meshes", options, table);
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[0].info.name, "left kidney");
  EXPECT_EQ(summaries[1].info.name, "label_4");
  for (const auto & s : summaries)
  {
    EXPECT_NEAR(s.meshVolume / s.voxelVolume, 1.0, 0.05) << s.info.name;
  }
  for (const char * file : { "label_1_left_kidney.stl", "label_1_left_kidney.vtp", "label_1_left_kidney.obj",
                             "label_1_left_kidney.mtl", "label_1_left_kidney.ply", "label_4_label_4.stl",
                             "meshes.csv" })
  {
    EXPECT_TRUE(std::filesystem::exists(dir / ("meshes/" + std::string(file)))) << file;
  }
  for (const auto & entry : std::filesystem::directory_iterator(dir / "meshes"))
  {
    EXPECT_NE(entry.path().filename().string()[0], '.') << "temporary file left: " << entry.path();
  }

  vtkNew<vtkXMLPolyDataReader> vtp;
  vtp->SetFileName((dir / "meshes/label_1_left_kidney.vtp").c_str());
  vtp->Update();
  EXPECT_EQ(vtp->GetOutput()->GetNumberOfPoints(), summaries[0].numberOfPoints);
  auto * name = vtkStringArray::SafeDownCast(vtp->GetOutput()->GetFieldData()->GetAbstractArray("LabelName"));
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->GetValue(0), "left kidney");
  EXPECT_NEAR(ComputeEnclosedVolume(vtp->GetOutput()), summaries[0].meshVolume, 1e-6 * summaries[0].meshVolume);

  vtkNew<vtkSTLReader> stl;
  stl->SetFileName((dir / "meshes/label_1_left_kidney.stl").c_str());
  stl->Update();
  EXPECT_EQ(stl->GetOutput()->GetNumberOfPolys(), summaries[0].numberOfTriangles);
  EXPECT_NEAR(ComputeEnclosedVolume(stl->GetOutput()), summaries[0].meshVolume, 1e-3 * summaries[0].meshVolume);
  EXPECT_NE(test::ReadText(dir / "meshes/label_1_left_kidney.stl").find("SPACE=LPS"), std::string::npos);

  vtkNew<vtkPLYReader> ply;
  ply->SetFileName((dir / "meshes/label_1_left_kidney.ply").c_str());
  ply->Update();
  EXPECT_EQ(ply->GetOutput()->GetNumberOfPolys(), summaries[0].numberOfTriangles);

  const std::string obj = test::ReadText(dir / "meshes/label_1_left_kidney.obj");
  EXPECT_NE(obj.find("mtllib label_1_left_kidney.mtl"), std::string::npos);
  EXPECT_NE(test::ReadText(dir / "meshes/label_1_left_kidney.mtl").find("Kd 0.0392 0.7843 0.1176"),
            std::string::npos);
  const std::string csv = test::ReadText(dir / "meshes/meshes.csv");
  EXPECT_NE(csv.find("1,left_kidney,10,200,30,"), std::string::npos) << csv;
}

TEST(LabelSurface, RefusesAbsentLabelsAndBadOptions)
{
  const auto               labels = test::MakeLabelBall({}, { 8, 8, 8 }, 3);
  test::TemporaryDirectory dir;
  MeshOptions              options;
  options.labels = { 1, 7 };
  EXPECT_THROW(WriteLabelMeshes(labels, dir.Path(), options, LabelTable()), InputError);
  options.labels = {};
  options.decimation = 1.0;
  EXPECT_THROW(WriteLabelMeshes(labels, dir.Path(), options, LabelTable()), std::invalid_argument);
  EXPECT_EQ(ParseMeshFormats("STL,ply").size(), 2u);
  EXPECT_THROW(ParseMeshFormats("stl,fbx"), std::invalid_argument);
}
