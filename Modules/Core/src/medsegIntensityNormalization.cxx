#include "medsegIntensityNormalization.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace medseg
{

namespace
{
std::pair<double, double>
ParsePair(const std::string & text, const std::string & what)
{
  const auto comma = text.find(',');
  if (comma == std::string::npos)
  {
    throw std::invalid_argument(what + " needs two numbers separated by a comma, got '" + text + "'");
  }
  try
  {
    size_t       used1 = 0, used2 = 0;
    const double a = std::stod(text.substr(0, comma), &used1);
    const double b = std::stod(text.substr(comma + 1), &used2);
    if (used1 != comma || used2 != text.size() - comma - 1 || !std::isfinite(a) || !std::isfinite(b))
    {
      throw std::invalid_argument(text);
    }
    return { a, b };
  }
  catch (const std::logic_error &)
  {
    throw std::invalid_argument(what + " needs two numbers separated by a comma, got '" + text + "'");
  }
}

double
Percentile(std::vector<float> & values, double percent)
{
  const double position = percent / 100.0 * static_cast<double>(values.size() - 1);
  const auto   lower = static_cast<size_t>(std::floor(position));
  const auto   upper = std::min(lower + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + lower, values.end());
  const double a = values[lower];
  std::nth_element(values.begin() + lower, values.begin() + upper, values.end());
  const double b = values[upper];
  return a + (b - a) * (position - static_cast<double>(lower));
}
} // namespace

NormalizationSpec
NormalizationSpec::Parse(const std::string & text)
{
  // `@nonzero` (zeros stay 0) and `@nonzero-statistics` (zeros mapped as any voxel).
  for (const bool keepZero : { true, false })
  {
    const std::string suffix = keepZero ? "@nonzero" : "@nonzero-statistics";
    if (text.size() > suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0)
    {
      NormalizationSpec spec = Parse(text.substr(0, text.size() - suffix.size()));
      if (!NeedsStatistics(spec) || spec.nonzero)
      {
        throw std::invalid_argument("normalization '" + text + "': " + suffix +
                                    " applies to zscore, minmax and percentile:LOW,HIGH only, once");
      }
      spec.nonzero = true;
      spec.keepZero = keepZero;
      return spec;
    }
  }
  NormalizationSpec spec;
  const auto colon = text.find(':');
  const std::string head = text.substr(0, colon);
  const std::string tail = colon == std::string::npos ? std::string() : text.substr(colon + 1);
  if (head == "none" && tail.empty())
  {
    spec.kind = Kind::None;
  }
  else if (head == "zscore" && tail.empty())
  {
    spec.kind = Kind::ZScore;
  }
  else if (head == "minmax" && tail.empty())
  {
    spec.kind = Kind::MinMax;
  }
  else if (head == "ct")
  {
    spec.kind = Kind::CTWindow;
    std::tie(spec.level, spec.width) = ParsePair(tail, "ct:LEVEL,WIDTH");
    if (spec.width <= 0.0)
    {
      throw std::invalid_argument("ct:LEVEL,WIDTH needs a width > 0, got " + tail);
    }
  }
  else if (head == "percentile")
  {
    spec.kind = Kind::PercentileZScore;
    std::tie(spec.lowerPercentile, spec.upperPercentile) = ParsePair(tail, "percentile:LOW,HIGH");
    if (!(0.0 <= spec.lowerPercentile && spec.lowerPercentile < spec.upperPercentile && spec.upperPercentile <= 100.0))
    {
      throw std::invalid_argument("percentile:LOW,HIGH needs 0 <= LOW < HIGH <= 100, got " + tail);
    }
  }
  else
  {
    throw std::invalid_argument("unknown normalization '" + text +
                                "'; use none, zscore, minmax, ct:LEVEL,WIDTH or percentile:LOW,HIGH (the last "
                                "three optionally with @nonzero or @nonzero-statistics)");
  }
  return spec;
}

std::string
NormalizationSpec::ToString() const
{
  std::ostringstream os;
  switch (kind)
  {
    case Kind::None:
      return "none";
    case Kind::ZScore:
      os << "zscore";
      break;
    case Kind::MinMax:
      os << "minmax";
      break;
    case Kind::CTWindow:
      os << "ct:" << level << ',' << width;
      break;
    case Kind::PercentileZScore:
      os << "percentile:" << lowerPercentile << ',' << upperPercentile;
      break;
  }
  if (nonzero)
  {
    os << (keepZero ? "@nonzero" : "@nonzero-statistics");
  }
  return os.str();
}

void
IntensityMapping::Apply(float * data, size_t n) const
{
  if (identity)
  {
    return;
  }
  for (size_t i = 0; i < n; ++i)
  {
    data[i] = Apply(data[i]);
  }
}

bool
NeedsStatistics(const NormalizationSpec & spec)
{
  using Kind = NormalizationSpec::Kind;
  return spec.kind == Kind::ZScore || spec.kind == Kind::MinMax || spec.kind == Kind::PercentileZScore;
}

void
IntensityStatistics::Add(const float * data, size_t n)
{
  for (size_t i = 0; i < n; ++i)
  {
    m_Sum += data[i];
    m_SumOfSquares += static_cast<double>(data[i]) * data[i];
    m_Min = std::min(m_Min, data[i]);
    m_Max = std::max(m_Max, data[i]);
    if (data[i] != 0.0f)
    {
      m_NonzeroMin = std::min(m_NonzeroMin, data[i]);
      m_NonzeroMax = std::max(m_NonzeroMax, data[i]);
      ++m_NonzeroCount;
    }
  }
  m_Count += n;
}

IntensityMapping
IntensityStatistics::Finish(const NormalizationSpec & spec) const
{
  IntensityMapping mapping;
  mapping.keepZero = spec.keepZero;
  const size_t count = spec.nonzero ? m_NonzeroCount : m_Count;
  const float  low = spec.nonzero ? m_NonzeroMin : m_Min;
  const float  high = spec.nonzero ? m_NonzeroMax : m_Max;
  switch (spec.kind)
  {
    case NormalizationSpec::Kind::None:
      return mapping;
    case NormalizationSpec::Kind::ZScore:
    {
      const double n = static_cast<double>(std::max<size_t>(count, 1));
      const double mean = m_Sum / n;
      const double variance = std::max(m_SumOfSquares / n - mean * mean, 0.0);
      mapping.identity = false;
      mapping.shift = mean;
      mapping.divisor = std::max(std::sqrt(variance), 1e-8);
      return mapping;
    }
    case NormalizationSpec::Kind::MinMax:
    {
      mapping.identity = false;
      mapping.shift = count > 0 ? static_cast<double>(low) : 0.0;
      const double range = count > 0 ? static_cast<double>(high) - low : 0.0;
      // A constant image maps to 0: (x - min) / inf.
      mapping.divisor = range > 0.0 ? range : IntensityMapping::Infinity;
      return mapping;
    }
    case NormalizationSpec::Kind::CTWindow:
      mapping.identity = false;
      mapping.shift = spec.level - spec.width / 2.0;
      mapping.divisor = spec.width;
      mapping.outLow = 0.0;
      mapping.outHigh = 1.0;
      return mapping;
    case NormalizationSpec::Kind::PercentileZScore:
      break;
  }
  throw std::invalid_argument("normalization '" + spec.ToString() +
                              "' needs every voxel at once (percentiles); it cannot be computed chunk by chunk");
}

IntensityMapping
ComputeIntensityMapping(const float * data, size_t n, const NormalizationSpec & spec)
{
  if (spec.kind != NormalizationSpec::Kind::PercentileZScore)
  {
    IntensityStatistics statistics;
    if (NeedsStatistics(spec))
    {
      statistics.Add(data, n);
    }
    return statistics.Finish(spec);
  }
  // Clip to the percentiles, then z-score the clipped values (`@nonzero`: of the nonzero voxels).
  const auto         counted = [&spec](float x) { return !spec.nonzero || x != 0.0f; };
  std::vector<float> copy;
  copy.reserve(n);
  std::copy_if(data, data + n, std::back_inserter(copy), counted);
  IntensityMapping clip;
  clip.identity = false;
  clip.clipLow = copy.empty() ? 0.0 : Percentile(copy, spec.lowerPercentile);
  clip.clipHigh = copy.empty() ? 0.0 : Percentile(copy, spec.upperPercentile);
  size_t used = 0; // the percentiles reordered `copy`: refill it in voxel order
  for (size_t i = 0; i < n; ++i)
  {
    if (counted(data[i]))
    {
      copy[used++] = clip.Apply(data[i]);
    }
  }
  IntensityStatistics statistics;
  statistics.Add(copy.data(), copy.size());
  NormalizationSpec zscore;
  zscore.kind = NormalizationSpec::Kind::ZScore;
  IntensityMapping mapping = statistics.Finish(zscore);
  mapping.keepZero = spec.keepZero;
  mapping.clipLow = clip.clipLow;
  mapping.clipHigh = clip.clipHigh;
  return mapping;
}

void
NormalizeIntensities(FloatImage3 * image, const NormalizationSpec & spec)
{
  float *      data = image->GetBufferPointer();
  const size_t n = image->GetBufferedRegion().GetNumberOfPixels();
  if (n == 0 || spec.kind == NormalizationSpec::Kind::None)
  {
    return;
  }
  ComputeIntensityMapping(data, n, spec).Apply(data, n);
}

} // namespace medseg
