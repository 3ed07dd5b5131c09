// Deep segmentation -> post-processing -> metrics, as one ITK pipeline with a progress observer:
//   reader -> DeepSegmentationImageFilter -> ComponentSelectionLabelImageFilter (largest component)
//          -> HoleFillingLabelImageFilter -> writer;  then Dice/HD95/... against a reference.
//   segment_postprocess_evaluate MODEL.pt INPUT REFERENCE OUTPUT
#include "medsegComponentSelectionLabelImageFilter.h"
#include "medsegDeepSegmentationImageFilter.h"
#include "medsegHoleFillingLabelImageFilter.h"
#include "medsegImageFileIO.h"
#include "medsegSegmentationMetrics.h"
#include "medsegTorchScriptModel.h"

#include "itkCommand.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

#include <iomanip>
#include <iostream>

namespace
{

/** Prints "<filter>: NN%" every 25% of a filter's ProgressEvents. */
class ProgressPrinter : public itk::Command
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ProgressPrinter);
  using Self = ProgressPrinter;
  using Superclass = itk::Command;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);

  void
  Execute(itk::Object * caller, const itk::EventObject & event) override
  {
    Execute(static_cast<const itk::Object *>(caller), event);
  }
  void
  Execute(const itk::Object * caller, const itk::EventObject & event) override
  {
    const auto * process = dynamic_cast<const itk::ProcessObject *>(caller);
    if (process == nullptr || !itk::ProgressEvent().CheckEvent(&event))
    {
      return;
    }
    const int percent = static_cast<int>(100.0f * process->GetProgress());
    if (percent >= m_Next)
    {
      std::cout << process->GetNameOfClass() << ": " << percent << "%\n";
      m_Next = percent - percent % 25 + 25;
    }
  }

protected:
  ProgressPrinter() = default;

private:
  int m_Next{ 0 };
};

} // namespace

int
main(int argc, char * argv[])
{
  if (argc != 5)
  {
    std::cerr << "Usage: segment_postprocess_evaluate MODEL.pt INPUT REFERENCE OUTPUT\n";
    return 2;
  }
  try
  {
    using LabelImage = medseg::LabelImage3;
    medseg::RegisterImageIOFactories(); // NIfTI, NRRD, MetaImage, DICOM, ...

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
    largest->SetInput(segmenter->GetOutput()); // keeps the largest component of every label
    auto fill = medseg::HoleFillingLabelImageFilter<LabelImage>::New();
    fill->SetInput(largest->GetOutput());

    auto writer = itk::ImageFileWriter<LabelImage>::New();
    writer->SetInput(fill->GetOutput());
    writer->SetFileName(argv[4]);
    writer->SetUseCompression(true);

    for (itk::ProcessObject * filter : std::initializer_list<itk::ProcessObject *>{ segmenter, largest, fill })
    {
      filter->AddObserver(itk::ProgressEvent(), ProgressPrinter::New());
    }
    writer->Update(); // pulls the whole pipeline

    // Metrics of the post-processed label map against the reference, in mm and mL.
    const auto reference = medseg::ReadLabelImage(argv[3]);
    for (const auto & m : medseg::EvaluateSegmentation(reference, fill->GetOutput()))
    {
      std::cout << std::fixed << std::setprecision(4) << "label " << m.label << ": Dice " << m.dice << ", IoU "
                << m.iou << ", HD95 " << m.hausdorff95 << " mm, ASSD " << m.averageSurfaceDistance
                << " mm, volume " << m.predictionVolume << " mL (reference " << m.referenceVolume << " mL)\n";
    }
  }
  catch (const std::exception & e)
  {
    std::cerr << "segment_postprocess_evaluate: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
