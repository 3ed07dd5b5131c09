// medseg-make-fixture-model: writes one of the known-answer TorchScript fixtures to a file.
// Used by the CLI tests and by the README's pipeline-check demo; not a trained model.
#include "medsegFixtureModels.h"

#include <cstdlib>
#include <iostream>
#include <string>

int
main(int argc, char * argv[])
{
  if (argc < 3)
  {
    std::cerr << "Usage: medseg-make-fixture-model threshold|smoothed-threshold|conv|constant|nearest|instance-norm "
                 "OUTPUT.pt [VALUE]\n"
                 "  threshold VALUE           two classes, label 1 where the (normalized) intensity > VALUE\n"
                 "  smoothed-threshold VALUE  the same on a 3x3x3 mean (the pipeline-check demo model)\n"
                 "  conv K                    a seeded 3x3x3 convolution with K output classes\n"
                 "  constant K                constant logits 0..K-1 (class K-1 everywhere)\n"
                 "  nearest K                 K classes with centres 0..K-1 (label = rounded intensity)\n"
                 "  instance-norm             label 1 where the patch's instance-normalized intensity > -0.5\n"
                 "                            (every voxel of a constant patch)\n";
    return 2;
  }
  const std::string kind = argv[1];
  const std::string path = argv[2];
  const double      value = argc > 3 ? std::atof(argv[3]) : 0.0;
  try
  {
    torch::jit::Module module;
    if (kind == "threshold")
      module = medseg::test::MakeThresholdModule(value);
    else if (kind == "smoothed-threshold")
      module = medseg::test::MakeSmoothedThresholdModule(value);
    else if (kind == "instance-norm")
      module = medseg::test::MakeInstanceNormModule();
    else if (kind == "conv")
      module = medseg::test::MakeConvolutionModule(static_cast<int64_t>(value > 0 ? value : 2));
    else if (kind == "constant" || kind == "nearest")
    {
      std::vector<double> values;
      for (int k = 0; k < static_cast<int>(value > 0 ? value : 2); ++k)
        values.push_back(k);
      module = kind == "constant" ? medseg::test::MakeConstantModule(values) : medseg::test::MakeNearestCentreModule(values);
    }
    else
    {
      std::cerr << "medseg-make-fixture-model: unknown kind '" << kind << "'\n";
      return 2;
    }
    medseg::test::SaveModule(module, path);
  }
  catch (const std::exception & e)
  {
    std::cerr << "medseg-make-fixture-model: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
