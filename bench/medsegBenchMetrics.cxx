// Benchmark of medseg::EvaluateSegmentation: a generated 256^3 reference/prediction pair with 5
// labels (anisotropic spacing), timed end to end. Run through bench/bench_metrics.sh.
#include "medsegSegmentationMetrics.h"

#include "itkMultiThreaderBase.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>

namespace
{

struct Blob
{
  double cx, cy, cz, rx, ry, rz;
};

medseg::LabelImage3::Pointer
Make(long n, const std::vector<Blob> & blobs, double shift, double grow)
{
  auto image = medseg::LabelImage3::New();
  image->SetRegions(medseg::LabelImage3::SizeType{ { static_cast<itk::SizeValueType>(n),
                                                     static_cast<itk::SizeValueType>(n),
                                                     static_cast<itk::SizeValueType>(n) } });
  medseg::LabelImage3::SpacingType spacing;
  spacing[0] = 0.8;
  spacing[1] = 0.8;
  spacing[2] = 1.5;
  image->SetSpacing(spacing);
  image->Allocate();
  auto * p = image->GetBufferPointer();
  for (long z = 0; z < n; ++z)
    for (long y = 0; y < n; ++y)
      for (long x = 0; x < n; ++x, ++p)
      {
        unsigned short v = 0;
        for (size_t b = 0; b < blobs.size(); ++b)
        {
          const auto & o = blobs[b];
          // A wobbly surface so the prediction is not just a translate of the reference.
          const double wobble = 1.0 + grow * std::sin(0.21 * x + 0.17 * b) * std::cos(0.13 * y);
          const double dx = (x - o.cx - shift) / (o.rx * wobble), dy = (y - o.cy) / (o.ry * wobble),
                       dz = (z - o.cz + 0.5 * shift) / (o.rz * wobble);
          if (dx * dx + dy * dy + dz * dz <= 1.0)
          {
            v = static_cast<unsigned short>(b + 1);
          }
        }
        *p = v;
      }
  return image;
}

} // namespace

int
main(int argc, char * argv[])
{
  const long n = argc > 1 ? std::atol(argv[1]) : 256;
  const double s = n / 256.0;
  const std::vector<Blob> blobs = { { 128 * s, 128 * s, 128 * s, 90 * s, 70 * s, 60 * s },
                                    { 80 * s, 90 * s, 100 * s, 30 * s, 35 * s, 25 * s },
                                    { 170 * s, 160 * s, 120 * s, 25 * s, 20 * s, 30 * s },
                                    { 128 * s, 60 * s, 180 * s, 15 * s, 15 * s, 15 * s },
                                    { 200 * s, 200 * s, 60 * s, 40 * s, 30 * s, 20 * s } };
  const auto t0 = std::chrono::steady_clock::now();
  const auto reference = Make(n, blobs, 0.0, 0.0);
  const auto prediction = Make(n, blobs, 2.0, 0.04);
  const auto t1 = std::chrono::steady_clock::now();
  medseg::EvaluationOptions options;
  options.surfaceTolerance = 1.0;
  const auto metrics = medseg::EvaluateSegmentation(reference, prediction, options);
  const auto t2 = std::chrono::steady_clock::now();
  const double generate = std::chrono::duration<double>(t1 - t0).count();
  const double evaluate = std::chrono::duration<double>(t2 - t1).count();
  std::cout << "size " << n << "^3, spacing 0.8x0.8x1.5 mm, " << metrics.size() << " labels, "
            << itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads() << " ITK threads\n";
  std::cout << std::fixed << std::setprecision(4);
  for (const auto & m : metrics)
  {
    std::cout << "  label " << m.label << ": Dice " << m.dice << "  HD " << m.hausdorff << " mm  HD95 "
              << m.hausdorff95 << " mm  ASSD " << m.averageSurfaceDistance << " mm  surface Dice "
              << m.surfaceDice << '\n';
  }
  std::cout << std::setprecision(3) << "generate: " << generate << " s\nevaluate: " << evaluate << " s\n";
  return 0;
}
