#ifndef medsegModelPackage_h
#define medsegModelPackage_h

#include "medsegIntensityNormalization.h"
#include "medsegSlidingWindowInferer.h"

#include "medsegTarArchive.h"

#include <nlohmann/json.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace medseg
{

/** One class a model predicts: the label value written for it, its name and display colour. */
struct LabelDescription
{
  unsigned int            value{ 0 };
  std::string             name;
  std::array<uint8_t, 3> color{ { 0, 0, 0 } };
};

/** One input channel: its name (e.g. "T1") and how it is normalized. */
struct ChannelDescription
{
  std::string       name;
  NormalizationSpec normalization;
};

/** \brief A self-describing model: `model.json` plus weights, in a folder or a `.medseg` archive.
 *
 * Everything needed to run the model without extra flags is here: architecture (plugin and
 * hyper-parameters), input channels with their normalization, the orientation and spacing the
 * model was trained at, the sliding-window settings, the labels, the weights' SHA-256 and how it
 * was trained. The format is documented in Documentation/model-package.md.
 *
 * Load() validates model.json field by field and checks the weights' SHA-256 before anything
 * reads the weights; every problem is an InputError naming the package and the field. */
class ModelPackage
{
public:
  static constexpr int FormatVersion = 1;

  /** `path`: a package folder, its model.json, or a `.medseg`/`.tar.gz`/`.tar` archive (extracted
   * into a private temporary folder that lives as long as the package). */
  static ModelPackage
  Load(const std::string & path);

  /** The package in an archive already extracted (ExtractToTemporaryFolder), so that an archive
   * is unpacked once whichever reader turns out to be its own; errors name `archive.source`. */
  static ModelPackage
  Load(const ExtractedArchive & archive);

  /** Parses and validates model.json text; `subject` names it in errors. Does not touch weights. */
  static ModelPackage
  Parse(const nlohmann::json & document, const std::string & subject);

  /** \brief What a bare TorchScript file is run as, so that it takes the package's path.
   *
   * `channels` inputs, each normalized as `normalization` (the command line's --normalize, z-score
   * by default), on the input's own grid (orientation "any", no spacing), default sliding-window
   * settings, no post-processing, no crop, 3D, and no label list: class k is written as label
   * value k and the number of classes is the model's. Nothing is read from the file here. */
  static ModelPackage
  DescribeTorchScriptFile(const std::string & path, size_t channels, const NormalizationSpec & normalization);

  /** The package as model.json (round-trips through Parse). */
  nlohmann::json
  ToJson() const;

  std::string source;    //!< what the user named
  std::string directory; //!< folder holding model.json and the weights
  std::string name;
  std::string version;
  std::string description;
  std::string plugin;             //!< architecture plugin: torchscript, unet, fcn, ...
  nlohmann::json hyperParameters; //!< handed to the plugin as it is
  std::string weightsFile;        //!< relative to `directory`
  std::string weightsSha256;
  std::vector<ChannelDescription> channels;
  std::string orientation{ "any" };        //!< axis codes such as "RAS" or "LPS", or "any"
  std::optional<std::array<double, 3>> spacing; //!< mm along x,y,z, or none (keep the input's)
  int                     spatialDims{ 3 };
  int                     sliceAxis{ 2 }; //!< 2D models: slices are taken across this axis (0=x,1=y,2=z)
  SlidingWindowSettings   window;
  bool                    tta{ false };  //!< mirror TTA over window.mirrorAxes by default
  /** Segment only the bounding box of the voxels that are nonzero in any channel, background
   * elsewhere (nnU-Net's crop_to_nonzero; see PackageSegmenter). `inference.crop_to_nonzero`;
   * a model.json without the field means false, so packages written before it existed segment
   * as they did. PackModel() writes true when the metadata do not say. */
  bool                    cropToNonzero{ false };
  std::string             postprocess;   //!< default post-processing spec ("" = none)
  std::vector<LabelDescription> labels; //!< empty for a bare TorchScript file: label value = class index
  nlohmann::json          training; //!< provenance, free-form

  /** Absolute path of the weights. */
  std::string
  WeightsPath() const;

  /** Label value for class index k. */
  unsigned int
  LabelValue(size_t classIndex) const;

private:
  /** model.json and the weights in `folder`; `path` names the package in errors; `extracted`
   * keeps an archive's temporary folder alive. */
  static ModelPackage
  FromFolder(const std::string & path, const std::string & folder, std::shared_ptr<void> extracted);

  std::shared_ptr<void> m_ExtractedFolder; // removes the temporary folder of an archive
};

/** \brief Builds a package archive: `metadata` (model.json without the weights hash or with a
 * stale one) + `weights` -> `output` (.medseg = tar.gz), filling in weights.file and the SHA-256,
 * and `inference.crop_to_nonzero: true` when the metadata do not give that field (new packages
 * crop by default; a package's model.json without it reads as false).
 * The metadata is validated first; the archive is written atomically. */
void
PackModel(const std::string & metadataPath, const std::string & weightsPath, const std::string & output);

} // namespace medseg

#endif
