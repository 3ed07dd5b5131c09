#include "medsegAtomicFile.h"
#include "medsegImageFileIO.h"
#include "medsegTrainer.h"

#include "itkImage.h"
#include "itkImageFileWriter.h"
#include "itkPNGImageIO.h"
#include "itkRGBPixel.h"

#include <algorithm>
#include <cmath>

namespace medseg
{

namespace
{
using Pixel = itk::RGBPixel<unsigned char>;
using Canvas = itk::Image<Pixel, 2>;

struct Plot
{
  Canvas::Pointer canvas;
  int             width{ 0 };
  int             height{ 0 };

  void
  Set(int x, int y, const std::array<unsigned char, 3> & rgb)
  {
    if (x < 0 || y < 0 || x >= width || y >= height)
      return;
    Pixel p;
    p.Set(rgb[0], rgb[1], rgb[2]);
    canvas->SetPixel({ { x, y } }, p);
  }
  void
  Line(double x0, double y0, double x1, double y1, const std::array<unsigned char, 3> & rgb, int thickness = 2)
  {
    const int steps = static_cast<int>(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
    for (int i = 0; i <= steps; ++i)
    {
      const double t = static_cast<double>(i) / steps;
      const int    x = static_cast<int>(std::lround(x0 + t * (x1 - x0)));
      const int    y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      for (int dx = 0; dx < thickness; ++dx)
        for (int dy = 0; dy < thickness; ++dy)
          Set(x + dx, y + dy, rgb);
    }
  }
};
} // namespace

void
WriteTrainingCurves(const std::vector<TrainingRecord> & history, const std::string & path)
{
  // 900 x 500 pixels, white; plot area inside a 50-pixel margin. x: step 0..last; y: 0..1 for Dice
  // and for the loss divided by its largest value. Grey grid lines at y = 0.25, 0.5, 0.75, 1 and
  // at every tenth of the steps. Blue: training loss (scaled); red: mean validation Dice; green,
  // orange, purple, ...: Dice of each label when there are several.
  Plot plot;
  plot.width = 900;
  plot.height = 500;
  plot.canvas = Canvas::New();
  plot.canvas->SetRegions(Canvas::RegionType({ { 0, 0 } }, { { 900, 500 } }));
  plot.canvas->Allocate();
  Pixel white;
  white.Set(255, 255, 255);
  plot.canvas->FillBuffer(white);
  const double left = 50, right = 870, top = 30, bottom = 460;
  const std::array<unsigned char, 3> grey{ { 210, 210, 210 } }, black{ { 0, 0, 0 } }, blue{ { 31, 119, 180 } },
    red{ { 214, 39, 40 } };
  const std::array<std::array<unsigned char, 3>, 5> others{
    { { { 44, 160, 44 } }, { { 255, 127, 14 } }, { { 148, 103, 189 } }, { { 140, 86, 75 } }, { { 227, 119, 194 } } }
  };
  for (int i = 1; i <= 4; ++i)
  {
    const double y = bottom - (bottom - top) * i / 4.0;
    plot.Line(left, y, right, y, grey, 1);
  }
  for (int i = 1; i <= 10; ++i)
  {
    const double x = left + (right - left) * i / 10.0;
    plot.Line(x, top, x, bottom, grey, 1);
  }
  plot.Line(left, bottom, right, bottom, black, 2);
  plot.Line(left, top, left, bottom, black, 2);

  if (!history.empty())
  {
    const double lastStep = static_cast<double>(std::max<int64_t>(1, history.back().step));
    double       maxLoss = 1e-12;
    for (const auto & r : history)
      maxLoss = std::max(maxLoss, r.loss);
    auto X = [&](int64_t step) { return left + (right - left) * static_cast<double>(step) / lastStep; };
    auto Y = [&](double v) { return bottom - (bottom - top) * std::clamp(v, 0.0, 1.0); };
    for (size_t i = 1; i < history.size(); ++i)
      plot.Line(X(history[i - 1].step), Y(history[i - 1].loss / maxLoss), X(history[i].step), Y(history[i].loss / maxLoss), blue);
    const TrainingRecord * previous = nullptr;
    for (const auto & r : history)
    {
      if (r.dice.empty())
        continue;
      double mean = 0.0;
      for (const double d : r.dice)
        mean += d / static_cast<double>(r.dice.size());
      if (previous != nullptr)
      {
        double previousMean = 0.0;
        for (const double d : previous->dice)
          previousMean += d / static_cast<double>(previous->dice.size());
        if (r.dice.size() > 1)
        {
          for (size_t k = 0; k < r.dice.size() && k < previous->dice.size(); ++k)
            plot.Line(X(previous->step), Y(previous->dice[k]), X(r.step), Y(r.dice[k]), others[k % others.size()], 1);
        }
        plot.Line(X(previous->step), Y(previousMean), X(r.step), Y(mean), red, 3);
      }
      else
      {
        plot.Line(X(r.step) - 2, Y(mean), X(r.step) + 2, Y(mean), red, 3);
      }
      previous = &r;
    }
  }

  AtomicFile file(path);
  auto       writer = itk::ImageFileWriter<Canvas>::New();
  writer->SetImageIO(itk::PNGImageIO::New());
  writer->SetFileName(file.GetTemporaryPath());
  writer->SetInput(plot.canvas);
  writer->Update();
  file.Commit();
}

} // namespace medseg
