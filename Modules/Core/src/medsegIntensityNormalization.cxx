#include "medsegIntensityNormalization.h"

#include <algorithm>
#include <cmath>
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

void
ZScore(float * data, size_t n)
{
  double sum = 0.0, sumSq = 0.0;
  for (size_t i = 0; i < n; ++i)
  {
    sum += data[i];
    sumSq += static_cast<double>(data[i]) * data[i];
  }
  const double mean = sum / static_cast<double>(n);
  const double variance = std::max(sumSq / static_cast<double>(n) - mean * mean, 0.0);
  const double stdev = std::max(std::sqrt(variance), 1e-8);
  for (size_t i = 0; i < n; ++i)
  {
    data[i] = static_cast<float>((data[i] - mean) / stdev);
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
  NormalizationSpec spec;
  const auto        colon = text.find(':');
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
                                "'; use none, zscore, minmax, ct:LEVEL,WIDTH or percentile:LOW,HIGH");
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
      return "zscore";
    case Kind::MinMax:
      return "minmax";
    case Kind::CTWindow:
      os << "ct:" << level << ',' << width;
      return os.str();
    case Kind::PercentileZScore:
      os << "percentile:" << lowerPercentile << ',' << upperPercentile;
      return os.str();
  }
  return "none";
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
  switch (spec.kind)
  {
    case NormalizationSpec::Kind::None:
      break;
    case NormalizationSpec::Kind::ZScore:
      ZScore(data, n);
      break;
    case NormalizationSpec::Kind::MinMax:
    {
      const auto [lo, hi] = std::minmax_element(data, data + n);
      const double low = *lo;
      const double range = static_cast<double>(*hi) - low;
      for (size_t i = 0; i < n; ++i)
      {
        data[i] = range > 0.0 ? static_cast<float>((data[i] - low) / range) : 0.0f;
      }
      break;
    }
    case NormalizationSpec::Kind::CTWindow:
    {
      const double low = spec.level - spec.width / 2.0;
      for (size_t i = 0; i < n; ++i)
      {
        data[i] = static_cast<float>(std::clamp((data[i] - low) / spec.width, 0.0, 1.0));
      }
      break;
    }
    case NormalizationSpec::Kind::PercentileZScore:
    {
      std::vector<float> copy(data, data + n);
      const double       low = Percentile(copy, spec.lowerPercentile);
      const double       high = Percentile(copy, spec.upperPercentile);
      for (size_t i = 0; i < n; ++i)
      {
        data[i] = static_cast<float>(std::clamp<double>(data[i], low, high));
      }
      ZScore(data, n);
      break;
    }
  }
}

} // namespace medseg
