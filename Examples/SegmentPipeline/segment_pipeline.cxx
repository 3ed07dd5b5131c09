// reader -> DeepSegmentationImageFilter -> writer, as one ITK pipeline.
//   segment_pipeline MODEL.pt INPUT OUTPUT
#include "medsegDeepSegmentationImageFilter.h"
#include "medsegImageFileIO.h"
#include "medsegTorchScriptModel.h"

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

#include <iostream>

int
main(int argc, char * argv[])
{
  if (argc != 4)
  {
    std::cerr << "Usage: segment_pipeline MODEL.pt INPUT OUTPUT\n";
    return 2;
  }
  try
  {
    medseg::RegisterImageIOFactories(); // NIfTI, NRRD, MetaImage, DICOM, ...

    auto reader = itk::ImageFileReader<medseg::FloatImage3>::New();
    reader->SetFileName(argv[2]);

    medseg::TorchScriptModelOptions options;
    options.device = "auto";
    auto segmenter = medseg::DeepSegmentationImageFilter<medseg::FloatImage3, itk::Image<unsigned char, 3>>::New();
    segmenter->SetInput(reader->GetOutput());
    segmenter->SetModel(medseg::TorchScriptModel::Load(argv[1], options));
    medseg::SlidingWindowSettings window;
    window.patchSize = { { 96, 96, 96 } };
    segmenter->SetSlidingWindowSettings(window);
    segmenter->SetNormalization(medseg::NormalizationSpec::Parse("zscore"));

    auto writer = itk::ImageFileWriter<itk::Image<unsigned char, 3>>::New();
    writer->SetInput(segmenter->GetOutput());
    writer->SetFileName(argv[3]);
    writer->SetUseCompression(true);
    writer->Update(); // pulls the whole pipeline
    std::cout << "segmented " << argv[2] << " into " << segmenter->GetNumberOfClasses() << " classes\n";
  }
  catch (const std::exception & e)
  {
    std::cerr << "segment_pipeline: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
