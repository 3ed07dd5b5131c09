#include "medsegPostProcessingPipeline.h"

#include "medsegComponentSelectionLabelImageFilter.h"
#include "medsegEdgeRefinementLabelImageFilter.h"
#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegHoleFillingLabelImageFilter.h"
#include "medsegMarginLabelImageFilter.h"
#include "medsegVotingSmoothingLabelImageFilter.h"

#include "itkImageDuplicator.h"

#include <stdexcept>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

namespace medseg
{
namespace
{

std::string
Trim(const std::string & s)
{
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos)
  {
    return "";
  }
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::string
Lower(std::string s)
{
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string>
Split(const std::string & s, char separator)
{
  std::vector<std::string> parts;
  size_t                   start = 0;
  for (;;)
  {
    const auto end = s.find(separator, start);
    parts.push_back(Trim(s.substr(start, end == std::string::npos ? std::string::npos : end - start)));
    if (end == std::string::npos)
    {
      return parts;
    }
    start = end + 1;
  }
}

/** Parsing errors of one step, all worded the same way. */
class StepParser
{
public:
  explicit StepParser(std::string text)
    : m_Text(std::move(text))
  {}

  [[noreturn]] void
  Fail(const std::string & problem) const
  {
    throw std::invalid_argument("post-processing step '" + m_Text + "': " + problem);
  }

  /** A number followed by one of `units` (each with its factor to the base unit). */
  double
  Quantity(const std::string & key, const std::string & value,
           const std::vector<std::pair<std::string, double>> & units, bool allowNegative) const
  {
    const char * begin = value.c_str();
    char *       end = nullptr;
    const double number = std::strtod(begin, &end);
    if (end == begin || !std::isfinite(number))
    {
      Fail(key + " '" + value + "' is not a number with a unit (e.g. 2" + units.front().first + ")");
    }
    const std::string unit = Lower(Trim(end));
    if (unit.empty())
    {
      Fail(key + " '" + value + "' needs a unit (e.g. " + value + units.front().first + ")");
    }
    for (const auto & [name, factor] : units)
    {
      if (unit == Lower(name))
      {
        if (number < 0.0 && !allowNegative)
        {
          Fail(key + " must not be negative");
        }
        return number * factor;
      }
    }
    Fail(key + " '" + value + "' has unknown unit '" + unit + "' (use " + units.front().first + ")");
  }

  double
  Length(const std::string & key, const std::string & value, bool allowNegative = false) const
  {
    return Quantity(key, value, { { "mm", 1.0 } }, allowNegative);
  }

  double
  Volume(const std::string & key, const std::string & value) const
  {
    return Quantity(key, value, { { "mm3", 1.0 }, { "mm^3", 1.0 }, { "ml", 1000.0 }, { "cc", 1000.0 } }, false);
  }

  unsigned long
  Count(const std::string & key, const std::string & value) const
  {
    if (value.empty() || !std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }) ||
        value.size() > 9)
    {
      Fail(key + " '" + value + "' is not a non-negative integer");
    }
    return std::stoul(value);
  }

  double
  Fraction(const std::string & key, const std::string & value) const
  {
    char *       end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0' || !(number >= 0.0 && number <= 1.0))
    {
      Fail(key + " '" + value + "' is not a number in [0, 1]");
    }
    return number;
  }

  bool
  Connectivity(const std::string & value) const
  {
    if (value == "face")
    {
      return false;
    }
    if (value == "full")
    {
      return true;
    }
    Fail("connectivity must be face or full, not '" + value + "'");
  }

private:
  std::string m_Text;
};

PostProcessingStep
ParseStep(const std::string & text)
{
  const auto        colon = text.find(':');
  const std::string name = Lower(Trim(text.substr(0, colon)));
  StepParser        parser(text);
  PostProcessingStep step;
  step.text = text;

  // Arguments: key=value pairs, and at most one bare value (stored under "").
  std::map<std::string, std::string> args;
  if (colon != std::string::npos)
  {
    for (const auto & arg : Split(text.substr(colon + 1), ','))
    {
      if (arg.empty())
      {
        parser.Fail("empty argument");
      }
      const auto        eq = arg.find('=');
      const std::string key = eq == std::string::npos ? "" : Lower(Trim(arg.substr(0, eq)));
      const std::string value = eq == std::string::npos ? arg : Trim(arg.substr(eq + 1));
      if (eq != std::string::npos && (key.empty() || value.empty()))
      {
        parser.Fail("malformed argument '" + arg + "' (expected key=value)");
      }
      if (!args.emplace(key, value).second)
      {
        parser.Fail(key.empty() ? "more than one bare value" : "'" + key + "' given twice");
      }
    }
  }
  const auto allow = [&](std::vector<std::string> keys) {
    for (const auto & [key, value] : args)
    {
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
      {
        parser.Fail(key.empty() ? "unexpected value '" + value + "'" : "unknown argument '" + key + "'");
      }
    }
  };
  const auto get = [&](const std::string & key, const std::string & alias = "\x01") -> const std::string * {
    const auto it = args.find(key);
    if (it != args.end())
    {
      if (args.count(alias))
      {
        parser.Fail("'" + key + "' given twice");
      }
      return &it->second;
    }
    const auto other = args.find(alias);
    return other == args.end() ? nullptr : &other->second;
  };

  if (name == "largest-component")
  {
    step.kind = PostProcessingStep::Kind::LargestComponent;
    allow({ "keep", "connectivity" });
    if (const auto * v = get("keep"))
    {
      step.keep = parser.Count("keep", *v);
      if (step.keep == 0)
      {
        parser.Fail("keep must be at least 1");
      }
    }
    if (const auto * v = get("connectivity"))
    {
      step.fullyConnected = parser.Connectivity(*v);
    }
  }
  else if (name == "islands")
  {
    step.kind = PostProcessingStep::Kind::Islands;
    step.keep = 0;
    allow({ "", "min", "keep", "connectivity" });
    const auto * min = get("min", "");
    const auto * keep = get("keep");
    if (min == nullptr && keep == nullptr)
    {
      parser.Fail("give min=VOLUME (e.g. min=100mm3) and/or keep=N");
    }
    if (min)
    {
      step.minimumVolume = parser.Volume("min", *min);
    }
    if (keep)
    {
      step.keep = parser.Count("keep", *keep);
    }
    if (const auto * v = get("connectivity"))
    {
      step.fullyConnected = parser.Connectivity(*v);
    }
  }
  else if (name == "fill-holes")
  {
    step.kind = PostProcessingStep::Kind::FillHoles;
    allow({ "", "axis" });
    if (const auto * v = get("axis", ""))
    {
      const std::string axis = Lower(*v);
      const std::map<std::string, int> axes{ { "3d", -1 }, { "x", 0 }, { "y", 1 }, { "z", 2 },
                                             { "0", 0 },   { "1", 1 }, { "2", 2 } };
      const auto                       it = axes.find(axis);
      if (it == axes.end())
      {
        parser.Fail("axis must be 3d, x, y, z, 0, 1 or 2, not '" + *v + "'");
      }
      step.axis = it->second;
    }
  }
  else if (name == "smooth")
  {
    step.kind = PostProcessingStep::Kind::Smooth;
    allow({ "", "radius", "mode" });
    if (const auto * v = get("radius", ""))
    {
      step.radius = parser.Length("radius", *v);
    }
    if (const auto * v = get("mode"))
    {
      if (*v != "majority" && *v != "median")
      {
        parser.Fail("mode must be majority or median, not '" + *v + "'");
      }
      step.median = *v == "median";
    }
  }
  else if (name == "margin")
  {
    step.kind = PostProcessingStep::Kind::Margin;
    allow({ "", "distance", "label" });
    const auto * v = get("distance", "");
    if (v == nullptr)
    {
      parser.Fail("give the distance, e.g. margin:2mm or margin:-1mm");
    }
    step.distance = parser.Length("distance", *v, true);
    if (const auto * l = get("label"))
    {
      step.label = parser.Count("label", *l);
      if (step.label > std::numeric_limits<LabelImage3::PixelType>::max())
      {
        parser.Fail("label " + *l + " is out of range");
      }
    }
  }
  else if (name == "refine-edges")
  {
    step.kind = PostProcessingStep::Kind::RefineEdges;
    allow({ "", "band", "sigma", "confidence", "probabilities" });
    if (const auto * v = get("band", ""))
    {
      step.band = parser.Length("band", *v);
    }
    if (const auto * v = get("sigma"))
    {
      step.sigma = parser.Length("sigma", *v);
      if (step.sigma <= 0.0)
      {
        parser.Fail("sigma must be positive");
      }
    }
    if (const auto * v = get("confidence"))
    {
      step.confidence = parser.Fraction("confidence", *v);
    }
    if (const auto * v = get("probabilities"))
    {
      if (*v != "auto" && *v != "off")
      {
        parser.Fail("probabilities must be auto or off, not '" + *v + "'");
      }
      step.useProbabilities = *v == "auto";
    }
  }
  else
  {
    parser.Fail("unknown step '" + name +
                "' (known: largest-component, islands, fill-holes, smooth, margin, refine-edges)");
  }
  return step;
}

template <typename TFilter>
LabelImage3::Pointer
Run(TFilter * filter, const LabelImage3 * input)
{
  filter->SetInput(input);
  filter->Update();
  LabelImage3::Pointer output = filter->GetOutput();
  output->DisconnectPipeline();
  return output;
}

} // namespace

std::vector<PostProcessingStep>
ParsePostProcessingSpec(const std::string & spec)
{
  std::vector<PostProcessingStep> steps;
  for (const auto & text : Split(spec, ';'))
  {
    if (!text.empty())
    {
      steps.push_back(ParseStep(text));
    }
  }
  return steps;
}

PostProcessingSpec
PostProcessingSpec::Parse(const std::string & text)
{
  PostProcessingSpec spec;
  spec.m_Steps = ParsePostProcessingSpec(text);
  spec.m_Text = text;
  return spec;
}

bool
PostProcessingSpec::NeedsIntensity() const
{
  return std::any_of(m_Steps.begin(), m_Steps.end(),
                     [](const PostProcessingStep & s) { return s.kind == PostProcessingStep::Kind::RefineEdges; });
}

LabelImage3::Pointer
ApplyPostProcessing(const LabelImage3 * labels, const PostProcessingSpec & spec, const FloatImage3 * intensity,
                    const ProbabilityImage3 * probabilities)
{
  if (labels == nullptr)
  {
    throw std::invalid_argument("ApplyPostProcessing: no label image");
  }
  const std::vector<PostProcessingStep> & steps = spec.GetSteps();
  if (intensity != nullptr)
  {
    const auto difference = DescribeGeometryDifference(labels, intensity);
    if (!difference.empty())
    {
      throw InputError("intensity image", difference + " (it must share the label map's grid)");
    }
  }
  if (probabilities != nullptr)
  {
    const auto difference = DescribeGeometryDifference(labels, probabilities);
    if (!difference.empty())
    {
      throw InputError("probability image", difference + " (it must share the label map's grid)");
    }
  }

  // Every step writes a new image and leaves its input alone, so the input is copied only when
  // there is no step at all (the result is always a new image).
  LabelImage3::Pointer current = const_cast<LabelImage3 *>(labels);
  if (steps.empty())
  {
    auto duplicator = itk::ImageDuplicator<LabelImage3>::New();
    duplicator->SetInputImage(labels);
    duplicator->Update();
    current = duplicator->GetOutput();
  }

  for (const auto & step : steps)
  {
    switch (step.kind)
    {
      case PostProcessingStep::Kind::LargestComponent:
      case PostProcessingStep::Kind::Islands:
      {
        auto filter = ComponentSelectionLabelImageFilter<LabelImage3>::New();
        filter->SetNumberOfComponentsToKeep(step.keep);
        filter->SetMinimumComponentVolume(step.minimumVolume);
        filter->SetFullyConnected(step.fullyConnected);
        current = Run(filter.GetPointer(), current);
        break;
      }
      case PostProcessingStep::Kind::FillHoles:
      {
        auto filter = HoleFillingLabelImageFilter<LabelImage3>::New();
        filter->SetSliceAxis(step.axis);
        current = Run(filter.GetPointer(), current);
        break;
      }
      case PostProcessingStep::Kind::Smooth:
      {
        using FilterType = VotingSmoothingLabelImageFilter<LabelImage3>;
        auto filter = FilterType::New();
        filter->SetRadius(step.radius);
        filter->SetMode(step.median ? FilterType::ModeEnum::Median : FilterType::ModeEnum::Majority);
        current = Run(filter.GetPointer(), current);
        break;
      }
      case PostProcessingStep::Kind::Margin:
      {
        auto filter = MarginLabelImageFilter<LabelImage3>::New();
        filter->SetDistance(step.distance);
        filter->SetLabel(static_cast<LabelImage3::PixelType>(step.label));
        current = Run(filter.GetPointer(), current);
        break;
      }
      case PostProcessingStep::Kind::RefineEdges:
      {
        if (intensity == nullptr)
        {
          throw std::invalid_argument("post-processing step '" + step.text + "' needs the intensity image");
        }
        auto filter = EdgeRefinementLabelImageFilter<LabelImage3, FloatImage3>::New();
        filter->SetFeatureImage(intensity);
        if (probabilities != nullptr && step.useProbabilities)
        {
          filter->SetProbabilityImage(probabilities);
        }
        filter->SetBandWidth(step.band);
        filter->SetSigma(step.sigma);
        filter->SetConfidenceThreshold(step.confidence);
        current = Run(filter.GetPointer(), current);
        break;
      }
    }
  }
  return current;
}

} // namespace medseg
