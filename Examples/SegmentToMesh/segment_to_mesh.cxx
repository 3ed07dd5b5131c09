// Segmentation -> mesh: reader -> DeepSegmentationImageFilter -> ComponentSelectionLabelImageFilter,
// then one smoothed surface per label written as STL + VTP (LPS world coordinates, so the meshes
// overlay the image in 3D Slicer) plus meshes.csv.
//   segment_to_mesh MODEL.pt INPUT OUTPUT_FOLDER
#include "medsegComponentSelectionLabelImageFilter.h"
#include "medsegDeepSegmentationImageFilter.h"
#include "medsegImageFileIO.h"
#include "medsegLabelSurface.h"
#include "medsegTorchScriptModel.h"

#include "itkImageFileReader.h"

#include <iomanip>
#include <iostream>

int
main(int argc, char * argv[])
{
  if (argc != 4)
  {
    std::cerr << "Usage: segment_to_mesh MODEL.pt INPUT OUTPUT_FOLDER\n";
    return 2;
  }
  try
  {
    using LabelImage = medseg::LabelImage3;
    medseg::RegisterImageIOFactories();

    auto reader = itk::ImageFileReader<medseg::FloatImage3>::New();
    reader->SetFileName(argv[2]);
    auto segmenter = medseg::DeepSegmentationImageFilter<medseg::FloatImage3, LabelImage>::New();
    segmenter->SetInput(reader->GetOutput());
    segmenter->SetModel(medseg::TorchScriptModel::Load(argv[1]));
    medseg::SlidingWindowSettings window;
    window.patchSize = { { 96, 96, 96 } };
    segmenter->SetSlidingWindowSettings(window);
    segmenter->SetNormalization(medseg::NormalizationSpec::Parse("zscore"));
    auto largest = medseg::ComponentSelectionLabelImageFilter<LabelImage>::New();
    largest->SetInput(segmenter->GetOutput());
    largest->Update(); // the ITK pipeline ends here; VTK takes the label map

    medseg::MeshOptions options; // discrete flying edges, 20 windowed-sinc iterations, STL + VTP
    const auto          summaries = medseg::WriteLabelMeshes(largest->GetOutput(), argv[3], options, medseg::LabelTable{});
    for (const auto & s : summaries)
    {
      std::cout << "label " << s.info.value << ": " << s.numberOfTriangles << " triangles, " << std::fixed
                << std::setprecision(1) << s.meshVolume << " mm^3 (voxels " << s.voxelVolume << " mm^3)\n";
    }
  }
  catch (const std::exception & e)
  {
    std::cerr << "segment_to_mesh: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
