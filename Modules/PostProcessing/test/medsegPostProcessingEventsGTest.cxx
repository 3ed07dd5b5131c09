// Every PostProcessing filter in a plain ITK pipeline: Update() pulls it, observers see
// itk::ProgressEvent from 0 to 1, and AbortGenerateDataOn() from an observer ends the update
// with itk::ProcessAborted.
#include "medsegComponentSelectionLabelImageFilter.h"
#include "medsegEdgeRefinementLabelImageFilter.h"
#include "medsegHoleFillingLabelImageFilter.h"
#include "medsegLabelTestUtilities.h"
#include "medsegMarginLabelImageFilter.h"
#include "medsegVotingSmoothingLabelImageFilter.h"

#include "itkCommand.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace medseg;

namespace
{

test::Geometry
Grid()
{
  test::Geometry g;
  g.size = { 32, 30, 28 };
  g.spacing = { 1.0, 1.0, 1.2 };
  return g;
}

/** A hollow ball plus a small island: every filter has work to do. */
LabelImage3::Pointer
Labels()
{
  return test::MakeLabels(Grid(), [](long x, long y, long z) -> unsigned short {
    const long d = (x - 16) * (x - 16) + (y - 15) * (y - 15) + (z - 14) * (z - 14);
    return (d <= 81 && d > 9) || (x < 3 && y < 3 && z < 3) ? 1 : 0;
  });
}

FloatImage3::Pointer
Intensity()
{
  return test::MakeImage(Grid(), [](long x, long y, long z) {
    const long d = (x - 16) * (x - 16) + (y - 15) * (y - 15) + (z - 14) * (z - 14);
    return d <= 100 ? 100.0f : 20.0f;
  });
}

/** A fresh filter of each kind, ready to Update(). */
std::vector<std::pair<std::string, itk::ProcessObject::Pointer>>
Filters()
{
  std::vector<std::pair<std::string, itk::ProcessObject::Pointer>> filters;
  {
    auto f = ComponentSelectionLabelImageFilter<LabelImage3>::New();
    f->SetInput(Labels());
    filters.emplace_back("ComponentSelection", f.GetPointer());
  }
  {
    auto f = HoleFillingLabelImageFilter<LabelImage3>::New();
    f->SetInput(Labels());
    filters.emplace_back("HoleFilling", f.GetPointer());
  }
  {
    auto f = VotingSmoothingLabelImageFilter<LabelImage3>::New();
    f->SetInput(Labels());
    f->SetRadius(1.5);
    filters.emplace_back("VotingSmoothing", f.GetPointer());
  }
  {
    auto f = MarginLabelImageFilter<LabelImage3>::New();
    f->SetInput(Labels());
    f->SetDistance(2.0);
    filters.emplace_back("Margin", f.GetPointer());
  }
  {
    auto f = EdgeRefinementLabelImageFilter<LabelImage3, FloatImage3>::New();
    f->SetInput(Labels());
    f->SetFeatureImage(Intensity());
    filters.emplace_back("EdgeRefinement", f.GetPointer());
  }
  return filters;
}

} // namespace

TEST(PostProcessingEvents, EveryFilterReportsProgressFromZeroToOne)
{
  for (auto & [name, filter] : Filters())
  {
    std::vector<float> seen;
    auto               command = itk::CStyleCommand::New();
    command->SetClientData(&seen);
    command->SetCallback([](itk::Object * caller, const itk::EventObject &, void * data) {
      static_cast<std::vector<float> *>(data)->push_back(static_cast<itk::ProcessObject *>(caller)->GetProgress());
    });
    filter->AddObserver(itk::ProgressEvent(), command);
    filter->Update();
    ASSERT_FALSE(seen.empty()) << name;
    EXPECT_FLOAT_EQ(seen.back(), 1.0f) << name;
    EXPECT_TRUE(std::any_of(seen.begin(), seen.end(), [](float p) { return p > 0.0f && p < 1.0f; }))
      << name << ": no intermediate progress";
    // Not required to be sorted: ITK 5.2's threaded filters (e.g. BinaryThresholdImageFilter) report
    // progress both per work unit and per pixel, so the inner sequences can step back a little.
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](float p) { return p >= 0.0f && p <= 1.0f; })) << name;
  }
}

TEST(PostProcessingEvents, EveryFilterCanBeAbortedFromAnObserver)
{
  for (auto & [name, filter] : Filters())
  {
    auto abort = itk::CStyleCommand::New();
    abort->SetCallback([](itk::Object * caller, const itk::EventObject &, void *) {
      auto * process = static_cast<itk::ProcessObject *>(caller);
      if (process->GetProgress() > 0.0f && process->GetProgress() < 1.0f)
        process->AbortGenerateDataOn();
    });
    filter->AddObserver(itk::ProgressEvent(), abort);
    EXPECT_THROW(filter->Update(), itk::ProcessAborted) << name;
  }
}
