#include "medsegDeepSegmentationImageFilter.h"
#include "medsegFixtureModels.h"
#include "medsegGeometry.h"
#include "medsegImageFileIO.h"
#include "medsegTestHelpers.h"
#include "medsegTorchScriptModel.h"

#include "itkCommand.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkStreamingImageFilter.h"

#include <set>

#include <cmath>

#include <gtest/gtest.h>

#include <algorithm>

using namespace medseg;

namespace
{
std::shared_ptr<SegmentationModel>
Wrap(torch::jit::Module module, unsigned int classes = 0)
{
  TorchScriptModelOptions options;
  options.device = "cpu";
  options.classes = classes; // 0: the filter learns K from the first patch
  return std::make_shared<TorchScriptModel>(std::move(module), "fixture", options);
}

SlidingWindowSettings
SmallPatches()
{
  SlidingWindowSettings s;
  s.patchSize = { { 12, 10, 8 } };
  s.overlap = 0.5;
  return s;
}
using ThresholdFilter = DeepSegmentationImageFilter<FloatImage3, itk::Image<unsigned char, 3>>;

/** The filter over `image` with a model thresholding at 50 (no normalization, small patches),
 * probabilities on. */
ThresholdFilter::Pointer
MakeThresholdFilter(const FloatImage3 * image)
{
  auto filter = ThresholdFilter::New();
  filter->SetInput(image);
  filter->SetModel(Wrap(test::MakeThresholdModule(50.0)));
  filter->SetSlidingWindowSettings(SmallPatches());
  filter->SetNormalization(NormalizationSpec::Parse("none"));
  filter->ProduceProbabilitiesOn();
  return filter;
}

} // namespace

class FilterGeometry : public ::testing::TestWithParam<std::string>
{};

TEST_P(FilterGeometry, LabelsAreExactAndGeometryIsKept)
{
  test::Geometry g = test::WithDirection({}, GetParam());
  g.size = { 23, 19, 14 };
  g.spacing = { 0.7, 1.1, 2.5 }; // anisotropic
  g.origin = { -12.5, 40.25, 7.0 };
  const auto image = test::MakeBallPhantom(g, { 11, 9, 6 }, 5.5);

  const auto filter = MakeThresholdFilter(image);
  filter->Update();

  const auto * labels = filter->GetLabelOutput();
  EXPECT_EQ(DescribeGeometryDifference(image, labels, 1e-12), "");
  EXPECT_EQ(DescribeGeometryDifference(image, filter->GetProbabilityOutput(), 1e-12), "");
  EXPECT_EQ(filter->GetNumberOfClasses(), 2u);
  EXPECT_EQ(filter->GetProbabilityOutput()->GetNumberOfComponentsPerPixel(), 2u);
  size_t mismatches = 0, foreground = 0;
  for (size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    const unsigned char expected = image->GetBufferPointer()[i] > 50.0f ? 1 : 0;
    mismatches += labels->GetBufferPointer()[i] != expected;
    foreground += expected;
  }
  EXPECT_GT(foreground, 500u);
  EXPECT_EQ(mismatches, 0u);
  // Probabilities sum to one.
  const auto p = filter->GetProbabilityOutput()->GetPixel({ { 11, 9, 6 } });
  EXPECT_NEAR(p[0] + p[1], 1.0, 1e-6);
  EXPECT_GT(p[1], 0.99);
}

INSTANTIATE_TEST_SUITE_P(Directions, FilterGeometry, ::testing::Values("LPS", "RAS", "permuted", "oblique"));

TEST(DeepSegmentationImageFilter, ProbabilitiesAloneLeaveTheLabelOutputEmpty)
{
  // What PackageSegmenter asks for when it resamples the probabilities and takes the arg-max
  // itself: the same probabilities, no label voxels held.
  test::Geometry g;
  g.size = { 17, 15, 11 };
  const auto image = test::MakeBallPhantom(g, { 8, 7, 5 }, 4.5);
  const auto run = [&](bool labels) {
    const auto filter = MakeThresholdFilter(image);
    filter->SetProduceLabels(labels);
    filter->Update();
    return filter;
  };
  const auto both = run(true);
  const auto alone = run(false);
  EXPECT_EQ(alone->GetLabelOutput()->GetBufferedRegion().GetNumberOfPixels(), 0u);
  EXPECT_EQ(both->GetLabelOutput()->GetBufferedRegion().GetNumberOfPixels(), image->GetBufferedRegion().GetNumberOfPixels());
  const size_t values = image->GetBufferedRegion().GetNumberOfPixels() * 2;
  ASSERT_EQ(alone->GetProbabilityOutput()->GetBufferedRegion(), both->GetProbabilityOutput()->GetBufferedRegion());
  EXPECT_TRUE(std::equal(alone->GetProbabilityOutput()->GetBufferPointer(),
                         alone->GetProbabilityOutput()->GetBufferPointer() + values,
                         both->GetProbabilityOutput()->GetBufferPointer()));
  const auto neither = MakeThresholdFilter(image);
  neither->ProduceProbabilitiesOff();
  neither->SetProduceLabels(false);
  EXPECT_THROW(neither->Update(), itk::ExceptionObject);
}

TEST(DeepSegmentationImageFilter, WideLabelTypesHoldManyClasses)
{
  // 300 classes, label = nearest integer to the intensity: needs unsigned short.
  std::vector<double> centres;
  for (int k = 0; k < 300; ++k)
    centres.push_back(k);
  test::Geometry g;
  g.size = { 10, 6, 5 };
  const auto image = test::MakeImage(g, [](long x, long y, long z) { return static_cast<float>((x + 10 * y + 60 * z) % 300); });
  auto filter = DeepSegmentationImageFilter<FloatImage3, itk::Image<unsigned short, 3>>::New();
  filter->SetInput(image);
  filter->SetModel(Wrap(test::MakeNearestCentreModule(centres)));
  SlidingWindowSettings s;
  s.patchSize = { { 8, 8, 8 } };
  filter->SetSlidingWindowSettings(s);
  filter->SetNormalization(NormalizationSpec::Parse("none"));
  filter->Update();
  for (size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
  {
    ASSERT_EQ(filter->GetOutput()->GetBufferPointer()[i], static_cast<unsigned short>(image->GetBufferPointer()[i]));
  }
  // The same model does not fit unsigned char: refused, not truncated.
  auto narrow = DeepSegmentationImageFilter<FloatImage3, itk::Image<unsigned char, 3>>::New();
  narrow->SetInput(image);
  narrow->SetModel(Wrap(test::MakeNearestCentreModule(centres)));
  narrow->SetSlidingWindowSettings(s);
  EXPECT_THROW(narrow->Update(), itk::ExceptionObject);
}

TEST(DeepSegmentationImageFilter, ReportsProgressAndCanBeAborted)
{
  test::Geometry g;
  g.size = { 24, 24, 24 };
  const auto image = test::MakeBallPhantom(g, { 12, 12, 12 }, 6);
  auto       filter = DeepSegmentationImageFilter<>::New();
  filter->SetInput(image);
  filter->SetModel(Wrap(test::MakeThresholdModule(0.0)));
  SlidingWindowSettings s;
  s.patchSize = { { 8, 8, 8 } };
  s.overlap = 0.0;
  s.batchSize = 1; // 27 batches
  filter->SetSlidingWindowSettings(s);

  std::vector<float> seen;
  auto               observer = itk::CStyleCommand::New();
  observer->SetClientData(&seen);
  observer->SetCallback([](itk::Object * caller, const itk::EventObject &, void * data) {
    static_cast<std::vector<float> *>(data)->push_back(static_cast<itk::ProcessObject *>(caller)->GetProgress());
  });
  filter->AddObserver(itk::ProgressEvent(), observer);
  filter->Update();
  ASSERT_GE(seen.size(), 27u);
  EXPECT_FLOAT_EQ(seen.back(), 1.0f);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

  // Abort once a third is done.
  auto aborting = DeepSegmentationImageFilter<>::New();
  aborting->SetInput(image);
  aborting->SetModel(Wrap(test::MakeThresholdModule(0.0)));
  aborting->SetSlidingWindowSettings(s);
  auto abort = itk::CStyleCommand::New();
  abort->SetCallback([](itk::Object * caller, const itk::EventObject &, void *) {
    auto * process = static_cast<itk::ProcessObject *>(caller);
    if (process->GetProgress() > 0.3f)
      process->AbortGenerateDataOn();
  });
  aborting->AddObserver(itk::ProgressEvent(), abort);
  EXPECT_THROW(aborting->Update(), itk::ProcessAborted);
}

TEST(DeepSegmentationImageFilter, AWriterOnTheProbabilityOutputSeesEveryClass)
{
  RegisterImageIOFactories();
  test::TemporaryDirectory dir;
  test::Geometry           g;
  g.size = { 9, 8, 7 };
  auto filter = DeepSegmentationImageFilter<>::New();
  filter->SetInput(test::MakeBallPhantom(g, { 4, 4, 3 }, 3));
  // The model says K = 3 without running: output 1 has 3 components before the data exist.
  filter->SetModel(Wrap(test::MakeConstantModule({ 0.0, 1.0, 2.0 }), 3));
  filter->UpdateOutputInformation();
  EXPECT_EQ(filter->GetProbabilityOutput()->GetNumberOfComponentsPerPixel(), 3u);
  EXPECT_EQ(filter->GetNumberOfClasses(), 3u);
  SlidingWindowSettings s;
  s.patchSize = { { 8, 8, 8 } };
  filter->SetSlidingWindowSettings(s);
  filter->ProduceProbabilitiesOn();
  auto writer = itk::ImageFileWriter<ProbabilityImage3>::New(); // pulls output 1 directly
  writer->SetInput(filter->GetProbabilityOutput());
  writer->SetFileName(dir / "p.nrrd");
  writer->Update();
  auto reader = itk::ImageFileReader<ProbabilityImage3>::New();
  reader->SetFileName(dir / "p.nrrd");
  reader->Update();
  EXPECT_EQ(reader->GetOutput()->GetNumberOfComponentsPerPixel(), 3u);
  EXPECT_NEAR(reader->GetOutput()->GetPixel({ { 1, 2, 3 } })[2], std::exp(2.0) / (1 + std::exp(1.0) + std::exp(2.0)), 1e-6);
}

TEST(DeepSegmentationImageFilter, AModelThatShowsItsClassesOnlyByRunningIsNotProbed)
{
  test::Geometry g;
  g.size = { 9, 8, 7 };
  auto filter = DeepSegmentationImageFilter<>::New();
  filter->SetInput(test::MakeBallPhantom(g, { 4, 4, 3 }, 3));
  filter->SetModel(Wrap(test::MakeConstantModule({ 0.0, 1.0, 2.0 })));
  SlidingWindowSettings s;
  s.patchSize = { { 8, 8, 8 } };
  filter->SetSlidingWindowSettings(s);
  filter->ProduceProbabilitiesOn();
  filter->UpdateOutputInformation(); // no forward pass: K is not known yet
  EXPECT_EQ(filter->GetNumberOfClasses(), 0u);
  filter->Update();
  EXPECT_EQ(filter->GetNumberOfClasses(), 3u);
  EXPECT_EQ(filter->GetProbabilityOutput()->GetNumberOfComponentsPerPixel(), 3u);
}

TEST(DeepSegmentationImageFilter, ADeclaredClassCountTheModelDoesNotGiveIsRefused)
{
  test::Geometry g;
  g.size = { 9, 8, 7 };
  auto filter = DeepSegmentationImageFilter<>::New();
  filter->SetInput(test::MakeBallPhantom(g, { 4, 4, 3 }, 3));
  filter->SetModel(Wrap(test::MakeConstantModule({ 0.0, 1.0, 2.0 }), 2));
  SlidingWindowSettings s;
  s.patchSize = { { 8, 8, 8 } };
  filter->SetSlidingWindowSettings(s);
  try
  {
    filter->Update();
    FAIL() << "a model declared with 2 classes returned 3";
  }
  catch (const std::exception & e)
  {
    EXPECT_NE(std::string(e.what()).find("returned 3 output channel(s), but 2 classes were declared"),
              std::string::npos)
      << e.what();
  }
}

TEST(DeepSegmentationImageFilter, RefusesToRunWithoutAModel)
{
  test::Geometry g;
  auto           filter = DeepSegmentationImageFilter<>::New();
  filter->SetInput(test::MakeImage(g, [](long, long, long) { return 0.0f; }));
  EXPECT_THROW(filter->Update(), itk::ExceptionObject);
}

namespace
{
/** Labels (and probabilities) of `filter` pulled through itk::StreamingImageFilter in `divisions`. */
template <typename TFilter>
std::pair<std::vector<unsigned char>, std::vector<float>>
StreamedOutputs(TFilter * filter, unsigned int divisions)
{
  auto labels = itk::StreamingImageFilter<itk::Image<unsigned char, 3>, itk::Image<unsigned char, 3>>::New();
  labels->SetInput(filter->GetLabelOutput());
  labels->SetNumberOfStreamDivisions(divisions);
  labels->Update();
  auto probabilities = itk::StreamingImageFilter<ProbabilityImage3, ProbabilityImage3>::New();
  probabilities->SetInput(filter->GetProbabilityOutput());
  probabilities->SetNumberOfStreamDivisions(divisions);
  probabilities->Update();
  const auto * l = labels->GetOutput()->GetBufferPointer();
  const auto * p = probabilities->GetOutput()->GetBufferPointer();
  const size_t n = labels->GetOutput()->GetBufferedRegion().GetNumberOfPixels();
  return { std::vector<unsigned char>(l, l + n),
           std::vector<float>(p, p + n * probabilities->GetOutput()->GetNumberOfComponentsPerPixel()) };
}
} // namespace

TEST(DeepSegmentationImageFilter, StreamingIsBitIdenticalForAnyNumberOfDivisions)
{
  // Two channels, z-scored with statistics computed beforehand (chunk-wise), a random
  // convolutional model with 3 classes, batches of 2: every split of the output must give the
  // very same bits as the unsplit run, while each chunk reads only part of the input.
  test::Geometry g;
  g.size = { 13, 11, 29 };
  g.spacing = { 0.9, 1.1, 1.3 };
  const auto t1 = test::MakeImage(g, [](long x, long y, long z) {
    return static_cast<float>(100.0 * std::sin(0.7 * x) * std::cos(0.4 * y + 0.3 * z) + 3.0 * z);
  });
  const auto t2 = test::MakeImage(g, [](long x, long y, long z) { return static_cast<float>((x * 7 + y * 3 + z) % 17); });
  const auto model = std::make_shared<TorchScriptModel>(test::MakeConvolutionModule(3, 11, 2), "two-channel",
                                             TorchScriptModelOptions{ "cpu", true, 2, 3 });

  std::vector<IntensityMapping> mappings;
  for (const auto & image : { t1, t2 })
  {
    IntensityStatistics statistics;
    const size_t        slice = 13 * 11;
    for (size_t z = 0; z < 29; ++z)
    {
      statistics.Add(image->GetBufferPointer() + z * slice, slice);
    }
    mappings.push_back(statistics.Finish(NormalizationSpec::Parse("zscore")));
  }
  SlidingWindowSettings settings;
  settings.patchSize = { { 8, 8, 6 } };
  settings.overlap = 0.5;
  settings.batchSize = 2;

  using Filter = DeepSegmentationImageFilter<FloatImage3, itk::Image<unsigned char, 3>>;
  const auto make = [&](bool withMappings) {
    auto filter = Filter::New();
    filter->SetInput(0, t1);
    filter->SetInput(1, t2);
    filter->SetModel(model);
    filter->SetSlidingWindowSettings(settings);
    filter->SetNormalization(NormalizationSpec::Parse("zscore"));
    if (withMappings)
    {
      filter->SetIntensityMappings(mappings);
    }
    filter->ProduceProbabilitiesOn();
    return filter;
  };
  auto whole = make(false);
  whole->Update();
  const auto * wl = whole->GetLabelOutput()->GetBufferPointer();
  const auto * wp = whole->GetProbabilityOutput()->GetBufferPointer();
  const size_t n = g.size[0] * g.size[1] * g.size[2];
  const std::vector<unsigned char> labels(wl, wl + n);
  const std::vector<float>         probabilities(wp, wp + 3 * n);
  ASSERT_EQ(whole->GetNumberOfClasses(), 3u);
  std::set<unsigned char> seen(labels.begin(), labels.end());
  ASSERT_GE(seen.size(), 2u) << "the fixture should produce more than one label";

  for (const unsigned int divisions : { 2u, 3u, 5u, 29u })
  {
    for (const bool withMappings : { true, false })
    {
      auto       streamed = make(withMappings);
      const auto [l, p] = StreamedOutputs(streamed.GetPointer(), divisions);
      EXPECT_EQ(l, labels) << divisions << " divisions, mappings " << withMappings;
      EXPECT_EQ(p, probabilities) << divisions << " divisions, mappings " << withMappings;
      const auto inputRegion = t1->GetRequestedRegion();
      if (withMappings)
      {
        // Streaming for real: the last chunk asked for part of the input only.
        EXPECT_LT(inputRegion.GetSize(2), g.size[2]) << divisions << " divisions";
      }
      else
      {
        // z-score without given statistics needs the whole input, every time.
        EXPECT_EQ(inputRegion, t1->GetLargestPossibleRegion());
      }
    }
  }
}

TEST(DeepSegmentationImageFilter, WritesTheGivenLabelValues)
{
  test::Geometry g;
  g.size = { 9, 8, 7 };
  auto filter = DeepSegmentationImageFilter<>::New();
  filter->SetInput(test::MakeBallPhantom(g, { 4, 4, 3 }, 3));
  filter->SetModel(Wrap(test::MakeThresholdModule(50.0)));
  SlidingWindowSettings s;
  s.patchSize = { { 8, 8, 8 } };
  filter->SetSlidingWindowSettings(s);
  filter->SetNormalization(NormalizationSpec::Parse("none"));
  filter->SetLabelValues({ 3, 200 });
  filter->Update();
  EXPECT_EQ(filter->GetOutput()->GetPixel({ { 4, 4, 3 } }), 200);
  EXPECT_EQ(filter->GetOutput()->GetPixel({ { 0, 0, 0 } }), 3);
  filter->SetLabelValues({ 1, 2, 3 });
  EXPECT_THROW(filter->Update(), itk::ExceptionObject);
}
