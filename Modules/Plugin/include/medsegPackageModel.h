#ifndef medsegPackageModel_h
#define medsegPackageModel_h

#include "medsegModelPackage.h"
#include "medsegSegmentationModel.h"
#include "medsegTorchScriptModel.h"

#include <memory>

namespace medseg
{

/** \brief The network a package (or a bare TorchScript file's description) names.
 *
 * `torchscript` is built in: the weights file loaded with `base` (device, optimization), the
 * package's number of channels and spatial dimension, and `hyper_parameters.optimize: false`
 * turning the optimization off. Any other architecture comes from the plugin of that name
 * (PluginRegistry: the install's plugin folder, then MEDSEG_PLUGIN_PATH), given the package's
 * hyper-parameters, weights, `base.device` and channels. Throws InputError naming the package
 * when the plugin is not found or refuses. */
std::shared_ptr<SegmentationModel>
CreatePackageModel(const ModelPackage & package, const TorchScriptModelOptions & base);

} // namespace medseg

#endif
