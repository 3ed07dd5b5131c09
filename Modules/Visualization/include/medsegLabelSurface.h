#ifndef medsegLabelSurface_h
#define medsegLabelSurface_h

#include "medsegImageTypes.h"
#include "medsegLabelTable.h"

#include <vtkPolyData.h>
#include <vtkSmartPointer.h>

#include <cstddef>
#include <string>
#include <vector>

namespace medseg
{

/** World coordinate convention of exported meshes. ITK (and so MedSeg) images live in LPS
 * (x to the patient's Left, y to Posterior, z to Superior); RAS negates x and y. 3D Slicer
 * assumes LPS for model files unless told otherwise, so LPS is the default. */
enum class CoordinateSystem
{
  LPS,
  RAS
};

/** How the iso-surface of one label is extracted. */
enum class SurfaceAlgorithm
{
  DiscreteFlyingEdges,  //!< vtkDiscreteFlyingEdges3D (default, fast)
  DiscreteMarchingCubes //!< vtkDiscreteMarchingCubes (same surface, classic algorithm)
};

/** Mesh file formats. Every format gets the label value/name in its file name; colours go into
 * VTP (point array "Color" and field data), PLY (per-vertex colour) and OBJ (a .mtl material);
 * STL carries value, name, colour and coordinate system in its 80-byte header. */
enum class MeshFormat
{
  STL,
  VTP,
  OBJ,
  PLY
};

/** Options of the label surfaces. The defaults are what `medseg mesh` and `medseg segment --mesh` use. */
struct MeshOptions
{
  std::vector<unsigned int> labels;                                      //!< labels to mesh; empty: every non-zero label present
  SurfaceAlgorithm          algorithm{ SurfaceAlgorithm::DiscreteFlyingEdges };
  unsigned int              smoothingIterations{ 20 };                   //!< windowed-sinc iterations; 0 turns smoothing off
  double                    passBand{ 0.05 };                             //!< windowed-sinc pass band (0..2; smaller is smoother)
  double                    decimation{ 0.0 };                            //!< fraction of triangles to remove (0 = none, < 1)
  CoordinateSystem          coordinates{ CoordinateSystem::LPS };
  std::vector<MeshFormat>   formats{ MeshFormat::STL, MeshFormat::VTP }; //!< files written per label
};

/** What was written for one label. */
struct LabelMeshSummary
{
  LabelInfo                info;
  std::size_t              voxelCount{ 0 };
  double                   voxelVolume{ 0.0 }; //!< mm^3, voxel count times voxel volume
  double                   meshVolume{ 0.0 };  //!< mm^3, volume enclosed by the mesh
  double                   meshArea{ 0.0 };    //!< mm^2
  vtkIdType                numberOfPoints{ 0 };
  vtkIdType                numberOfTriangles{ 0 };
  std::vector<std::string> files;              //!< final paths
};

/** The non-zero label values present in `labels`, ascending. */
std::vector<unsigned int>
FindLabelValues(const LabelImage3 * labels);

/** Parses "stl,vtp,obj,ply" (case-insensitive); throws std::invalid_argument for unknown names. */
std::vector<MeshFormat>
ParseMeshFormats(const std::string & text);

/** "stl", "vtp", "obj" or "ply". */
std::string
MeshFormatExtension(MeshFormat format);

/** "label_<value>_<sanitized name>.<ext>", the file name WriteLabelMeshes uses. */
std::string
LabelMeshFileName(const LabelInfo & info, MeshFormat format);

/** \brief The smoothed, optionally decimated surface of one label, in world coordinates (mm).
 *
 * Pipeline: crop to the label's bounding box padded by one background voxel (so surfaces
 * touching the image border are closed) -> discrete flying edges (or marching cubes) in index
 * space -> index-to-world transform (origin, spacing and the full direction matrix; triangle
 * order reversed when the transform mirrors) -> windowed-sinc smoothing -> quadric decimation
 * -> point normals. Returns an empty poly data when the label has no voxel. */
vtkSmartPointer<vtkPolyData>
ComputeLabelSurface(const LabelImage3 * labels, unsigned int value, const MeshOptions & options);

/** \brief Meshes every requested label and writes one file per label and format into `outputDir`
 * (created if needed), atomically, plus "meshes.csv" (value, name, colour, voxel and mesh
 * volumes, file names). Labels requested but absent are reported as an InputError. */
std::vector<LabelMeshSummary>
WriteLabelMeshes(const LabelImage3 * labels, const std::string & outputDir, const MeshOptions & options,
                 const LabelTable & table);

/** Volume enclosed by a closed triangle mesh (divergence theorem), mm^3; 0 for an empty mesh. */
double
ComputeEnclosedVolume(vtkPolyData * mesh);

} // namespace medseg

#endif
