#include "medsegPackageSegmenter.h"

#include "medsegDeepSegmentationImageFilter.h"
#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegModelSpace.h"

#include "itkCommand.h"

#include <stdexcept>

namespace medseg
{

PackageSegmenter::PackageSegmenter(ModelPackage package, std::shared_ptr<SegmentationModel> model)
  : m_Package(std::move(package))
  , m_Model(std::move(model))
  , m_Window(m_Package.window)
{
  m_Window.sliceAxis = m_Package.sliceAxis;
}

PackageSegmentation
PackageSegmenter::Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
                      const ProgressCallback & progress) const
{
  if (channels.size() != m_Package.channels.size())
  {
    throw std::invalid_argument("model '" + m_Package.name + "' takes " + std::to_string(m_Package.channels.size()) +
                                " input channel(s), " + std::to_string(channels.size()) + " given");
  }
  const FloatImage3 * reference = channels.front();

  // Model space: one grid for all channels, the package's orientation and spacing.
  std::vector<FloatImage3::Pointer> modelSpace;
  for (const auto & channel : channels)
  {
    FloatImage3::Pointer image = channel;
    if (!DescribeGeometryDifference(reference, image).empty())
    {
      image = ResampleOnto(image, reference);
    }
    else if (image != reference)
    {
      // Equal within MedSeg's tolerance: share the voxels, take the reference's exact geometry.
      auto aligned = FloatImage3::New();
      aligned->SetRegions(image->GetLargestPossibleRegion());
      aligned->SetPixelContainer(image->GetPixelContainer());
      aligned->CopyInformation(reference);
      image = aligned;
    }
    if (m_Package.orientation != "any")
    {
      image = ReorientImage(image, m_Package.orientation);
    }
    if (m_Package.spacing)
    {
      image = ResampleToSpacing(image, *m_Package.spacing);
    }
    modelSpace.push_back(image);
  }

  using Filter = DeepSegmentationImageFilter<FloatImage3, itk::Image<unsigned short, 3>>;
  auto filter = Filter::New();
  for (unsigned int c = 0; c < modelSpace.size(); ++c)
  {
    filter->SetInput(c, modelSpace[c]);
  }
  std::vector<NormalizationSpec> normalizations;
  for (const auto & c : m_Package.channels)
  {
    normalizations.push_back(c.normalization);
  }
  filter->SetModel(m_Model);
  filter->SetChannelNormalizations(normalizations);
  filter->SetSlidingWindowSettings(m_Window);
  filter->ProduceProbabilitiesOn();
  filter->ProbeNumberOfClassesOff(); // outputs are read after Update(), not through the pipeline
  if (progress)
  {
    auto observer = itk::CStyleCommand::New();
    observer->SetClientData(const_cast<ProgressCallback *>(&progress));
    observer->SetCallback([](itk::Object * caller, const itk::EventObject &, void * data) {
      (*static_cast<ProgressCallback *>(data))(static_cast<itk::ProcessObject *>(caller)->GetProgress() * 0.95);
    });
    filter->AddObserver(itk::ProgressEvent(), observer);
  }
  filter->Update();

  PackageSegmentation result;
  result.classes = filter->GetNumberOfClasses();
  const size_t expectedClasses = m_Package.labels.size();
  if (!(result.classes == expectedClasses || (result.classes == 1 && expectedClasses == 2)))
  {
    throw InputError(m_Package.source, "the model predicts " + std::to_string(result.classes) +
                                         " classes but model.json lists " + std::to_string(expectedClasses) +
                                         " labels");
  }

  // Back onto the first input's grid, then the arg-max.
  ProbabilityImage3::Pointer probabilities = filter->GetProbabilityOutput();
  filter->GetLabelOutput()->Initialize(); // the package's own arg-max below replaces it
  if (!DescribeGeometryDifference(reference, probabilities, 1e-9).empty())
  {
    probabilities = ResampleProbabilitiesOnto(probabilities, reference);
  }
  else
  {
    probabilities->DisconnectPipeline();
  }
  auto labels = LabelImage3::New();
  labels->CopyInformation(reference);
  labels->SetRegions(reference->GetLargestPossibleRegion());
  labels->Allocate();
  const unsigned int k = probabilities->GetNumberOfComponentsPerPixel();
  const float *      p = probabilities->GetBufferPointer();
  auto *             out = labels->GetBufferPointer();
  const size_t       n = reference->GetLargestPossibleRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
  {
    size_t best = 0;
    if (k == 1)
    {
      best = p[i] >= 0.5f ? 1 : 0;
    }
    else
    {
      const float * v = p + i * k;
      for (unsigned int c = 1; c < k; ++c)
      {
        if (v[c] > v[best])
          best = c;
      }
    }
    out[i] = static_cast<LabelImage3::PixelType>(m_Package.LabelValue(best));
  }
  result.labels = labels;
  if (wantProbabilities)
  {
    result.probabilities = probabilities;
  }
  if (progress)
  {
    progress(1.0);
  }
  return result;
}

} // namespace medseg
