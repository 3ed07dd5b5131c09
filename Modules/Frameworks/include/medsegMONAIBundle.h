#ifndef medsegMONAIBundle_h
#define medsegMONAIBundle_h

#include "medsegSlidingWindowInferer.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace medseg
{

/** \brief One dictionary transform of a bundle's preprocessing or postprocessing, as parsed:
 * which of the supported MONAI transforms it is and the arguments MedSeg follows. */
struct MONAITransform
{
  enum class Kind
  {
    LoadImage,          //!< LoadImaged (ensure_channel_first as an argument or by EnsureChannelFirstd)
    EnsureChannelFirst, //!< EnsureChannelFirstd
    EnsureType,         //!< EnsureTyped, CastToTyped to float32: nothing to do on MedSeg's float data
    Orientation,        //!< Orientationd(axcodes)
    Spacing,            //!< Spacingd(pixdim, mode, padding_mode)
    ScaleIntensityRange, //!< ScaleIntensityRanged(a_min, a_max, b_min, b_max, clip)
    ScaleIntensity,     //!< ScaleIntensityd(minv, maxv, factor, channel_wise): minv, maxv in bMin, bMax
    NormalizeIntensity, //!< NormalizeIntensityd(nonzero, channel_wise)
    CropForeground,     //!< CropForegroundd(source_key = the image, margin, allow_smaller, k_divisible)
    Activations,        //!< Activationsd(softmax | sigmoid)
    Invert,             //!< Invertd(transform = @preprocessing, nearest_interp)
    AsDiscrete,         //!< AsDiscreted(argmax | threshold)
    KeepLargestComponent, //!< KeepLargestConnectedComponentd(applied_labels, connectivity)
    SaveImage           //!< SaveImaged: MedSeg's own writer takes its place
  };
  Kind        kind{ Kind::EnsureType };
  std::string name; //!< as the config names it, e.g. "Spacingd"
  std::string id;   //!< where it is in the config, e.g. "preprocessing::transforms::3"

  std::string            axcodes;                   //!< Orientation
  std::vector<double>    pixdim;                    //!< Spacing
  std::string            mode{ "bilinear" };        //!< Spacing
  std::string            paddingMode{ "border" };   //!< Spacing
  double                 aMin{ 0 }, aMax{ 1 };      //!< ScaleIntensityRange
  std::optional<double>  bMin, bMax;                //!< ScaleIntensityRange
  bool                   clip{ false };             //!< ScaleIntensityRange
  std::optional<double>  factor;                    //!< ScaleIntensity
  bool                   nonzero{ false };          //!< NormalizeIntensity
  bool                   channelWise{ false };      //!< NormalizeIntensity
  std::array<int64_t, 3> margin{};                  //!< CropForeground
  bool                   allowSmaller{ false };     //!< CropForeground
  std::array<int64_t, 3> kDivisible{ { 1, 1, 1 } }; //!< CropForeground
  bool                   softmax{ false };          //!< Activations
  bool                   sigmoid{ false };          //!< Activations
  bool                   nearestInterp{ true };     //!< Invert (MONAI's default)
  bool                   argmax{ false };           //!< AsDiscrete
  std::optional<double>  threshold;                 //!< AsDiscrete
  std::vector<int64_t>   appliedLabels;             //!< KeepLargestComponent (empty: every label)
  int                    connectivity{ 3 };         //!< KeepLargestComponent (MONAI's None: full)
};

/** \brief A MONAI bundle (the Model Zoo's layout) read into what MedSeg runs: its description
 * (metadata.json's network_data_format), the inference config's preprocessing, inferer and
 * postprocessing, and the TorchScript network `models/model.ts`. */
struct MONAIBundle
{
  std::string folder;     //!< the bundle's root folder
  std::string metadataFile;
  std::string configFile; //!< configs/inference.json, .yaml or .yml
  std::string modelFile;  //!< models/model.ts
  std::string name;
  std::string version;
  std::string description;

  std::string                          imageKey{ "image" }; //!< network_data_format.inputs' key
  std::string                          predKey{ "pred" };   //!< network_data_format.outputs' key
  int64_t                              inputChannels{ 1 };  //!< inputs.<key>.num_channels
  std::vector<int64_t>                 spatialShape;        //!< inputs.<key>.spatial_shape, when numbers
  int64_t                              outputChannels{ 0 }; //!< outputs.<key>.num_channels
  std::map<int64_t, std::string>       channelDef;          //!< outputs.<key>.channel_def: class -> name

  std::vector<MONAITransform> preprocessing;
  std::vector<MONAITransform> postprocessing;
  SlidingWindowSettings       window; //!< the SlidingWindowInferer's settings in MedSeg's terms (MONAI placement)
  std::array<int64_t, 3>      roiSize{}; //!< roi_size in MONAI's array order (I, J, K)
  bool                        wholeImage{ false }; //!< SimpleInferer: the network runs on the whole image
  std::string                 paddingMode{ "constant" }; //!< how an image smaller than roi_size is padded: constant | replicate | reflect
};

/** Whether `path` is a bundle folder: it holds configs/metadata.json. */
bool
IsMONAIBundle(const std::string & path);

/** \brief Reads and checks a bundle. Throws InputError naming the file for: a missing
 * metadata.json or inference config or models/model.ts, an unsupported transform or inferer (one
 * line naming it and where it is), an argument MedSeg does not follow, Python code where MedSeg
 * needs a value, and metadata that contradict the config (channels, labels). */
MONAIBundle
ReadMONAIBundle(const std::string & folder);

/** What `medseg model info` prints for a bundle (JSON text). */
std::string
DescribeMONAIBundle(const MONAIBundle & bundle);

} // namespace medseg

#endif
