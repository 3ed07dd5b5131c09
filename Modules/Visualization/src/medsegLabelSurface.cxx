#include "medsegLabelSurface.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegVtkImageBridge.h"

#include <stdexcept>
#include <vtkCellArray.h>
#include <vtkCellArrayIterator.h>
#include <vtkDataArray.h>
#include <vtkDiscreteFlyingEdges3D.h>
#include <vtkDiscreteMarchingCubes.h>
#include <vtkFieldData.h>
#include <vtkImageData.h>
#include <vtkIntArray.h>
#include <vtkNew.h>
#include <vtkPLYWriter.h>
#include <vtkPointData.h>
#include <vtkPolyDataNormals.h>
#include <vtkQuadricDecimation.h>
#include <vtkReverseSense.h>
#include <vtkSTLWriter.h>
#include <vtkStringArray.h>
#include <vtkTransform.h>
#include <vtkTransformPolyDataFilter.h>
#include <vtkTriangleFilter.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowedSincPolyDataFilter.h>
#include <vtkXMLPolyDataWriter.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

namespace medseg
{

namespace
{

/** Voxel count and index bounding box of one label. */
struct LabelExtent
{
  std::size_t          count{ 0 };
  std::array<long, 3> lower{ 0, 0, 0 };
  std::array<long, 3> upper{ -1, -1, -1 };
};

/** One pass over a label map: the extent of every non-zero label (or of one, when `only` != 0). */
struct LabelExtentScanner
{
  std::map<unsigned int, LabelExtent>
  operator()(const LabelImage3 * labels, unsigned int only = 0) const
  {
    std::map<unsigned int, LabelExtent> extents;
    const auto                          region = labels->GetBufferedRegion();
    const auto *                        p = labels->GetBufferPointer();
    const long                          nx = static_cast<long>(region.GetSize(0));
    const long                          ny = static_cast<long>(region.GetSize(1));
    const long                          nz = static_cast<long>(region.GetSize(2));
    for (long z = 0; z < nz; ++z)
    {
      for (long y = 0; y < ny; ++y)
      {
        for (long x = 0; x < nx; ++x, ++p)
        {
          const unsigned int v = *p;
          if (v == 0 || (only != 0 && v != only))
          {
            continue;
          }
          auto &                    e = extents[v];
          const std::array<long, 3> i{ x + region.GetIndex(0), y + region.GetIndex(1), z + region.GetIndex(2) };
          if (e.count == 0)
          {
            e.lower = i;
            e.upper = i;
          }
          for (unsigned int d = 0; d < 3; ++d)
          {
            e.lower[d] = std::min(e.lower[d], i[d]);
            e.upper[d] = std::max(e.upper[d], i[d]);
          }
          ++e.count;
        }
      }
    }
    return extents;
  }
};

/** A binary (0/1) copy of one label's bounding box, padded by one zero voxel on every side,
 * in pure index space (spacing 1, origin 0, identity direction): point (i,j,k) = index (i,j,k). */
struct PaddedMaskFunctor
{
  vtkSmartPointer<vtkImageData>
  operator()(const LabelImage3 * labels, unsigned int value, const LabelExtent & extent) const
  {
    auto mask = vtkSmartPointer<vtkImageData>::New();
    mask->SetExtent(static_cast<int>(extent.lower[0] - 1), static_cast<int>(extent.upper[0] + 1),
                    static_cast<int>(extent.lower[1] - 1), static_cast<int>(extent.upper[1] + 1),
                    static_cast<int>(extent.lower[2] - 1), static_cast<int>(extent.upper[2] + 1));
    mask->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
    auto * out = static_cast<unsigned char *>(mask->GetScalarPointer());
    std::fill_n(out, mask->GetNumberOfPoints(), static_cast<unsigned char>(0));
    const long nx = extent.upper[0] - extent.lower[0] + 3;
    const long ny = extent.upper[1] - extent.lower[1] + 3;
    LabelImage3::IndexType index;
    for (long k = extent.lower[2]; k <= extent.upper[2]; ++k)
    {
      for (long j = extent.lower[1]; j <= extent.upper[1]; ++j)
      {
        index[0] = extent.lower[0];
        index[1] = j;
        index[2] = k;
        const auto * in = labels->GetBufferPointer() + labels->ComputeOffset(index);
        unsigned char * row =
          out + ((k - extent.lower[2] + 1) * ny + (j - extent.lower[1] + 1)) * nx + 1;
        for (long i = 0; i <= extent.upper[0] - extent.lower[0]; ++i)
        {
          row[i] = in[i] == value ? 1 : 0;
        }
      }
    }
    return mask;
  }
};

vtkSmartPointer<vtkPolyData>
ExtractIsoSurface(vtkImageData * mask, SurfaceAlgorithm algorithm)
{
  if (algorithm == SurfaceAlgorithm::DiscreteMarchingCubes)
  {
    vtkNew<vtkDiscreteMarchingCubes> cubes;
    cubes->SetInputData(mask);
    cubes->SetValue(0, 1.0);
    cubes->ComputeNormalsOff();
    cubes->ComputeGradientsOff();
    cubes->ComputeScalarsOff();
    cubes->Update();
    return cubes->GetOutput();
  }
  vtkNew<vtkDiscreteFlyingEdges3D> edges;
  edges->SetInputData(mask);
  edges->SetValue(0, 1.0);
  edges->ComputeNormalsOff();
  edges->ComputeGradientsOff();
  edges->ComputeScalarsOff();
  edges->Update();
  return edges->GetOutput();
}

std::string
CoordinateSystemName(CoordinateSystem c)
{
  return c == CoordinateSystem::LPS ? "LPS" : "RAS";
}

/** Attaches the label's identity to the mesh: field data and a per-point "Color" array. */
void
AnnotateMesh(vtkPolyData * mesh, const LabelInfo & info, CoordinateSystem coordinates)
{
  vtkNew<vtkIntArray> value;
  value->SetName("LabelValue");
  value->InsertNextValue(static_cast<int>(info.value));
  vtkNew<vtkStringArray> name;
  name->SetName("LabelName");
  name->InsertNextValue(info.name);
  vtkNew<vtkUnsignedCharArray> colour;
  colour->SetName("LabelColor");
  colour->SetNumberOfComponents(3);
  colour->InsertNextTypedTuple(info.rgb.data());
  vtkNew<vtkStringArray> space;
  space->SetName("CoordinateSystem");
  space->InsertNextValue(CoordinateSystemName(coordinates));
  mesh->GetFieldData()->AddArray(value);
  mesh->GetFieldData()->AddArray(name);
  mesh->GetFieldData()->AddArray(colour);
  mesh->GetFieldData()->AddArray(space);

  vtkNew<vtkUnsignedCharArray> pointColours;
  pointColours->SetName("Color");
  pointColours->SetNumberOfComponents(3);
  pointColours->SetNumberOfTuples(mesh->GetNumberOfPoints());
  for (vtkIdType i = 0; i < mesh->GetNumberOfPoints(); ++i)
  {
    pointColours->SetTypedTuple(i, info.rgb.data());
  }
  mesh->GetPointData()->AddArray(pointColours);
}

void
CheckWriter(int ok, const std::string & path)
{
  if (ok != 1)
  {
    throw InputError(path, "cannot write the mesh file");
  }
}

void
WriteObj(vtkPolyData * mesh, const LabelInfo & info, CoordinateSystem coordinates, const std::string & objPath)
{
  const std::string mtlPath = objPath.substr(0, objPath.size() - 4) + ".mtl";
  const std::string mtlName = std::filesystem::path(mtlPath).filename().string();
  const std::string material = SanitizeLabelName(info.name);
  {
    AtomicFile    file(mtlPath);
    std::ofstream out(file.GetTemporaryPath());
    out << "# MedSeg label " << info.value << ' ' << info.name << '\n'
        << "newmtl " << material << '\n'
        << std::fixed << std::setprecision(4) << "Kd " << info.rgb[0] / 255.0 << ' ' << info.rgb[1] / 255.0 << ' '
        << info.rgb[2] / 255.0 << "\nKa 0 0 0\nd 1.0\n";
    out.close();
    CheckWriter(out ? 1 : 0, mtlPath);
    file.Commit();
  }
  AtomicFile    file(objPath);
  std::ofstream out(file.GetTemporaryPath());
  out << "# MedSeg label " << info.value << ' ' << info.name << ", colour " << int(info.rgb[0]) << ' '
      << int(info.rgb[1]) << ' ' << int(info.rgb[2]) << ", SPACE=" << CoordinateSystemName(coordinates)
      << ", units mm\n"
      << "mtllib " << mtlName << "\no " << material << "\nusemtl " << material << '\n';
  out << std::setprecision(9);
  double p[3];
  for (vtkIdType i = 0; i < mesh->GetNumberOfPoints(); ++i)
  {
    mesh->GetPoint(i, p);
    out << "v " << p[0] << ' ' << p[1] << ' ' << p[2] << '\n';
  }
  vtkDataArray * normals = mesh->GetPointData()->GetNormals();
  if (normals != nullptr)
  {
    for (vtkIdType i = 0; i < mesh->GetNumberOfPoints(); ++i)
    {
      normals->GetTuple(i, p);
      out << "vn " << p[0] << ' ' << p[1] << ' ' << p[2] << '\n';
    }
  }
  vtkIdType        n = 0;
  const vtkIdType * ids = nullptr;
  auto              polys = vtk::TakeSmartPointer(mesh->GetPolys()->NewIterator());
  for (polys->GoToFirstCell(); !polys->IsDoneWithTraversal(); polys->GoToNextCell())
  {
    polys->GetCurrentCell(n, ids);
    out << 'f';
    for (vtkIdType k = 0; k < n; ++k)
    {
      out << ' ' << ids[k] + 1;
      if (normals != nullptr)
      {
        out << "//" << ids[k] + 1;
      }
    }
    out << '\n';
  }
  out.close();
  CheckWriter(out ? 1 : 0, objPath);
  file.Commit();
}

void
WriteMeshFile(vtkPolyData * mesh, const LabelInfo & info, CoordinateSystem coordinates, MeshFormat format,
              const std::string & path)
{
  if (format == MeshFormat::OBJ)
  {
    WriteObj(mesh, info, coordinates, path);
    return;
  }
  AtomicFile file(path);
  switch (format)
  {
    case MeshFormat::STL:
    {
      std::ostringstream header;
      header << "MedSeg label " << info.value << ' ' << info.name << " RGB " << int(info.rgb[0]) << ','
             << int(info.rgb[1]) << ',' << int(info.rgb[2]) << " SPACE=" << CoordinateSystemName(coordinates);
      vtkNew<vtkSTLWriter> writer;
      writer->SetInputData(mesh);
      writer->SetFileName(file.GetTemporaryPath().c_str());
      writer->SetFileTypeToBinary();
      writer->SetHeader(header.str().substr(0, 79).c_str());
      CheckWriter(writer->Write(), path);
      break;
    }
    case MeshFormat::VTP:
    {
      vtkNew<vtkXMLPolyDataWriter> writer;
      writer->SetInputData(mesh);
      writer->SetFileName(file.GetTemporaryPath().c_str());
      writer->SetDataModeToBinary();
      CheckWriter(writer->Write(), path);
      break;
    }
    case MeshFormat::PLY:
    {
      vtkNew<vtkPLYWriter> writer;
      writer->SetInputData(mesh);
      writer->SetFileName(file.GetTemporaryPath().c_str());
      writer->SetFileTypeToBinary();
      writer->SetColorModeToUniformPointColor();
      writer->SetColor(info.rgb[0], info.rgb[1], info.rgb[2]);
      CheckWriter(writer->Write(), path);
      break;
    }
    case MeshFormat::OBJ:
      break;
  }
  file.Commit();
}

} // namespace

std::vector<unsigned int>
FindLabelValues(const LabelImage3 * labels)
{
  std::vector<unsigned int> values;
  for (const auto & e : LabelExtentScanner()(labels))
  {
    values.push_back(e.first);
  }
  return values;
}

std::vector<MeshFormat>
ParseMeshFormats(const std::string & text)
{
  std::vector<MeshFormat> formats;
  std::istringstream      in(text);
  std::string             part;
  while (std::getline(in, part, ','))
  {
    std::transform(part.begin(), part.end(), part.begin(), [](unsigned char c) { return std::tolower(c); });
    MeshFormat f;
    if (part == "stl")
      f = MeshFormat::STL;
    else if (part == "vtp")
      f = MeshFormat::VTP;
    else if (part == "obj")
      f = MeshFormat::OBJ;
    else if (part == "ply")
      f = MeshFormat::PLY;
    else
      throw std::invalid_argument("unknown mesh format '" + part + "' (use stl, vtp, obj or ply)");
    if (std::find(formats.begin(), formats.end(), f) == formats.end())
    {
      formats.push_back(f);
    }
  }
  if (formats.empty())
  {
    throw std::invalid_argument("no mesh format given (use stl, vtp, obj or ply)");
  }
  return formats;
}

std::string
MeshFormatExtension(MeshFormat format)
{
  switch (format)
  {
    case MeshFormat::STL:
      return "stl";
    case MeshFormat::VTP:
      return "vtp";
    case MeshFormat::OBJ:
      return "obj";
    case MeshFormat::PLY:
      return "ply";
  }
  return "";
}

std::string
LabelMeshFileName(const LabelInfo & info, MeshFormat format)
{
  return "label_" + std::to_string(info.value) + "_" + SanitizeLabelName(info.name) + "." + MeshFormatExtension(format);
}

double
ComputeEnclosedVolume(vtkPolyData * mesh)
{
  double    volume = 0.0;
  vtkIdType n = 0;
  const vtkIdType * ids = nullptr;
  double            a[3], b[3], c[3];
  auto              polys = vtk::TakeSmartPointer(mesh->GetPolys()->NewIterator());
  for (polys->GoToFirstCell(); !polys->IsDoneWithTraversal(); polys->GoToNextCell())
  {
    polys->GetCurrentCell(n, ids);
    mesh->GetPoint(ids[0], a);
    for (vtkIdType k = 1; k + 1 < n; ++k) // fan-triangulate polygons
    {
      mesh->GetPoint(ids[k], b);
      mesh->GetPoint(ids[k + 1], c);
      volume += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) +
                 a[2] * (b[0] * c[1] - b[1] * c[0])) /
                6.0;
    }
  }
  return volume;
}

namespace
{

double
ComputeArea(vtkPolyData * mesh)
{
  double            area = 0.0;
  vtkIdType         n = 0;
  const vtkIdType * ids = nullptr;
  double            a[3], b[3], c[3];
  auto              polys = vtk::TakeSmartPointer(mesh->GetPolys()->NewIterator());
  for (polys->GoToFirstCell(); !polys->IsDoneWithTraversal(); polys->GoToNextCell())
  {
    polys->GetCurrentCell(n, ids);
    mesh->GetPoint(ids[0], a);
    for (vtkIdType k = 1; k + 1 < n; ++k)
    {
      mesh->GetPoint(ids[k], b);
      mesh->GetPoint(ids[k + 1], c);
      const double u[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] };
      const double v[3] = { c[0] - a[0], c[1] - a[1], c[2] - a[2] };
      const double w[3] = { u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0] };
      area += 0.5 * std::sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
    }
  }
  return area;
}

vtkSmartPointer<vtkPolyData>
SurfaceFromExtent(const LabelImage3 * labels, unsigned int value, const LabelExtent & extent,
                  const MeshOptions & options)
{
  const auto mask = PaddedMaskFunctor()(labels, value, extent);
  auto       surface = ExtractIsoSurface(mask, options.algorithm);
  if (surface->GetNumberOfPolys() == 0)
  {
    return surface;
  }

  // Index -> world (LPS), then optionally LPS -> RAS.
  auto matrix = IndexToWorldMatrix(labels);
  if (options.coordinates == CoordinateSystem::RAS)
  {
    for (int c = 0; c < 4; ++c)
    {
      matrix->SetElement(0, c, -matrix->GetElement(0, c));
      matrix->SetElement(1, c, -matrix->GetElement(1, c));
    }
  }
  vtkNew<vtkTransform> transform;
  transform->SetMatrix(matrix);
  vtkNew<vtkTransformPolyDataFilter> toWorld;
  toWorld->SetInputData(surface);
  toWorld->SetTransform(transform);
  toWorld->Update();
  vtkSmartPointer<vtkPolyData> mesh = toWorld->GetOutput();
  if (matrix->Determinant() < 0.0)
  {
    // A mirroring transform turns outward-facing triangles inward: flip their order back.
    vtkNew<vtkReverseSense> reverse;
    reverse->SetInputData(mesh);
    reverse->ReverseCellsOn();
    reverse->ReverseNormalsOff();
    reverse->Update();
    mesh = reverse->GetOutput();
  }

  if (options.smoothingIterations > 0)
  {
    vtkNew<vtkWindowedSincPolyDataFilter> smoother;
    smoother->SetInputData(mesh);
    smoother->SetNumberOfIterations(static_cast<int>(options.smoothingIterations));
    smoother->SetPassBand(options.passBand);
    smoother->BoundarySmoothingOff();
    smoother->FeatureEdgeSmoothingOff();
    smoother->NonManifoldSmoothingOn();
    smoother->NormalizeCoordinatesOn();
    smoother->Update();
    mesh = smoother->GetOutput();
  }
  if (options.decimation > 0.0)
  {
    vtkNew<vtkTriangleFilter> triangles;
    triangles->SetInputData(mesh);
    vtkNew<vtkQuadricDecimation> decimate;
    decimate->SetInputConnection(triangles->GetOutputPort());
    decimate->SetTargetReduction(std::min(options.decimation, 0.99));
    decimate->VolumePreservationOn();
    decimate->Update();
    mesh = decimate->GetOutput();
  }
  vtkNew<vtkPolyDataNormals> normals;
  normals->SetInputData(mesh);
  normals->ComputePointNormalsOn();
  normals->ComputeCellNormalsOff();
  normals->SplittingOff();
  normals->ConsistencyOn();
  normals->AutoOrientNormalsOff();
  normals->Update();
  auto result = vtkSmartPointer<vtkPolyData>::New();
  result->ShallowCopy(normals->GetOutput());
  return result;
}

} // namespace

vtkSmartPointer<vtkPolyData>
ComputeLabelSurface(const LabelImage3 * labels, unsigned int value, const MeshOptions & options)
{
  if (labels == nullptr)
  {
    throw std::invalid_argument("ComputeLabelSurface: null label map");
  }
  const auto extents = LabelExtentScanner()(labels, value);
  const auto it = extents.find(value);
  if (value == 0 || it == extents.end())
  {
    return vtkSmartPointer<vtkPolyData>::New();
  }
  return SurfaceFromExtent(labels, value, it->second, options);
}

std::vector<LabelMeshSummary>
WriteLabelMeshes(const LabelImage3 * labels, const std::string & outputDir, const MeshOptions & options,
                 const LabelTable & table)
{
  if (labels == nullptr)
  {
    throw std::invalid_argument("WriteLabelMeshes: null label map");
  }
  if (options.decimation < 0.0 || options.decimation >= 1.0)
  {
    throw std::invalid_argument("decimation must be in [0, 1), got " + std::to_string(options.decimation));
  }
  const auto extents = LabelExtentScanner()(labels);
  std::vector<unsigned int> values = options.labels;
  if (values.empty())
  {
    for (const auto & e : extents)
    {
      values.push_back(e.first);
    }
  }
  for (const unsigned int v : values)
  {
    if (extents.count(v) == 0)
    {
      throw InputError("label " + std::to_string(v), "not present in the label map");
    }
  }
  std::error_code error;
  std::filesystem::create_directories(outputDir, error);
  if (!std::filesystem::is_directory(outputDir))
  {
    throw InputError(outputDir, "cannot create the output folder");
  }

  double voxelVolume = 1.0;
  for (unsigned int d = 0; d < 3; ++d)
  {
    voxelVolume *= labels->GetSpacing()[d];
  }
  const auto formats = options.formats.empty() ? MeshOptions().formats : options.formats;
  std::vector<LabelMeshSummary> summaries;
  for (const unsigned int v : values)
  {
    LabelMeshSummary s;
    s.info = table.Get(v);
    s.voxelCount = extents.at(v).count;
    s.voxelVolume = static_cast<double>(s.voxelCount) * voxelVolume;
    auto mesh = SurfaceFromExtent(labels, v, extents.at(v), options);
    AnnotateMesh(mesh, s.info, options.coordinates);
    s.meshVolume = std::abs(ComputeEnclosedVolume(mesh));
    s.meshArea = ComputeArea(mesh);
    s.numberOfPoints = mesh->GetNumberOfPoints();
    s.numberOfTriangles = mesh->GetNumberOfPolys();
    for (const auto format : formats)
    {
      const std::string path = (std::filesystem::path(outputDir) / LabelMeshFileName(s.info, format)).string();
      WriteMeshFile(mesh, s.info, options.coordinates, format, path);
      s.files.push_back(path);
    }
    summaries.push_back(s);
  }

  const std::string csvPath = (std::filesystem::path(outputDir) / "meshes.csv").string();
  AtomicFile        csv(csvPath);
  {
    std::ofstream out(csv.GetTemporaryPath());
    out << "value,name,r,g,b,voxels,voxel_volume_mm3,mesh_volume_mm3,mesh_area_mm2,coordinates,files\n";
    for (const auto & s : summaries)
    {
      out << s.info.value << ',' << SanitizeLabelName(s.info.name) << ',' << int(s.info.rgb[0]) << ','
          << int(s.info.rgb[1]) << ',' << int(s.info.rgb[2]) << ',' << s.voxelCount << ',' << s.voxelVolume << ','
          << s.meshVolume << ',' << s.meshArea << ',' << CoordinateSystemName(options.coordinates) << ',';
      for (std::size_t i = 0; i < s.files.size(); ++i)
      {
        out << (i ? ";" : "") << std::filesystem::path(s.files[i]).filename().string();
      }
      out << '\n';
    }
    out.close();
    CheckWriter(out ? 1 : 0, csvPath);
  }
  csv.Commit();
  return summaries;
}

} // namespace medseg
