#include "medsegFixtureModels.h"

#include <torch/torch.h>

namespace medseg::test
{

namespace
{
torch::jit::Module
NewModule(const std::string & name)
{
  torch::jit::Module module(name);
  // eval()/freeze need the attribute every nn.Module has.
  module.register_attribute("training", c10::BoolType::get(), false);
  return module;
}

torch::Tensor
Column(const std::vector<double> & values)
{
  return torch::tensor(values, torch::kFloat).view({ 1, static_cast<int64_t>(values.size()), 1, 1, 1 });
}
} // namespace

torch::jit::Module
MakeThresholdModule(double threshold, double steepness)
{
  auto module = NewModule("ThresholdFixture");
  module.register_buffer("threshold", torch::tensor({ static_cast<float>(threshold) }));
  module.register_buffer("steepness", torch::tensor({ static_cast<float>(steepness) }));
  module.define(R"(
def forward(self, x):
    foreground = (x - self.threshold) * self.steepness
    return torch.cat([torch.zeros_like(foreground), foreground], 1)
)");
  return module;
}

torch::jit::Module
MakeSmoothedThresholdModule(double threshold, double steepness)
{
  auto module = NewModule("SmoothedThresholdFixture");
  module.register_buffer("kernel", torch::full({ 1, 1, 3, 3, 3 }, 1.0f / 27.0f));
  module.register_buffer("threshold", torch::tensor({ static_cast<float>(threshold) }));
  module.register_buffer("steepness", torch::tensor({ static_cast<float>(steepness) }));
  module.define(R"(
def forward(self, x):
    smoothed = torch.conv3d(x, self.kernel, None, [1, 1, 1], [1, 1, 1])
    foreground = (smoothed - self.threshold) * self.steepness
    return torch.cat([torch.zeros_like(foreground), foreground], 1)
)");
  return module;
}

torch::jit::Module
MakeConstantModule(const std::vector<double> & logits)
{
  auto module = NewModule("ConstantFixture");
  module.register_buffer("logits", Column(logits));
  module.define(R"(
def forward(self, x):
    return x * 0.0 + self.logits
)");
  return module;
}

torch::jit::Module
MakeNearestCentreModule(const std::vector<double> & centres)
{
  auto module = NewModule("NearestCentreFixture");
  module.register_buffer("centres", Column(centres));
  module.define(R"(
def forward(self, x):
    return -(x - self.centres) * (x - self.centres)
)");
  return module;
}

torch::jit::Module
MakeConvolutionModule(int64_t classes, uint64_t seed, int64_t inputChannels)
{
  torch::manual_seed(seed);
  auto module = NewModule("ConvolutionFixture");
  module.register_buffer("weight", torch::randn({ classes, inputChannels, 3, 3, 3 }));
  module.register_buffer("bias", torch::randn({ classes }));
  module.define(R"(
def forward(self, x):
    return torch.conv3d(x, self.weight, self.bias, [1, 1, 1], [1, 1, 1])
)");
  return module;
}

torch::jit::Module
MakeChannelComparisonModule(int64_t first, int64_t second, double steepness)
{
  auto module = NewModule("ChannelComparisonFixture");
  module.register_buffer("steepness", torch::tensor({ static_cast<float>(steepness) }));
  module.define(R"(
def forward(self, x):
    foreground = (torch.narrow(x, 1, )" + std::to_string(first) + R"(, 1) - torch.narrow(x, 1, )" +
                std::to_string(second) + R"(, 1)) * self.steepness
    return torch.cat([torch.zeros_like(foreground), foreground], 1)
)");
  return module;
}

torch::jit::Module
MakeInstanceNormModule(double offset, double steepness)
{
  auto module = NewModule("InstanceNormFixture");
  module.register_buffer("offset", torch::tensor({ static_cast<float>(offset) }));
  module.register_buffer("steepness", torch::tensor({ static_cast<float>(steepness) }));
  module.define(R"(
def forward(self, x):
    mean = x.mean([2, 3, 4], True)
    centred = x - mean
    variance = (centred * centred).mean([2, 3, 4], True)
    normalized = centred / torch.sqrt(variance + 1e-5)
    foreground = (normalized[:, 0:1] + self.offset) * self.steepness
    return torch.cat([torch.zeros_like(foreground), foreground], 1)
)");
  return module;
}

void
SaveModule(torch::jit::Module & module, const std::string & path)
{
  module.save(path);
}

} // namespace medseg::test
