#ifndef medsegModelSource_h
#define medsegModelSource_h

#include "medsegModelPackage.h"
#include "medsegNNUNetPackage.h"
#include "medsegTarArchive.h"

#include <optional>
#include <string>

namespace medseg
{

/** \brief What a `--model` path names, told apart by one rule for every command.
 *
 * In this order: an nnU-Net v2 trained-model folder (plans.json + dataset.json) or an archive
 * packed from one (`nnunet.json` inside); a MONAI bundle folder (configs/metadata.json); a MedSeg
 * package (a folder, its model.json, or a `.medseg` / `.tar.gz` / `.tgz` / `.tar` archive); anything
 * else is a bare TorchScript file. An archive is unpacked once, here, and kept for the reader it
 * turns out to be for; it is removed when the last copy of the source goes. Nothing is run. */
struct ModelSource
{
  enum class Kind
  {
    NNUNet,      //!< a trained-model folder, or a package of one (`nnunetPackage`)
    MONAI,       //!< a bundle folder
    Package,     //!< a MedSeg model package
    TorchScript  //!< a bare TorchScript file
  };

  Kind                            kind{ Kind::TorchScript };
  std::string                     path;          //!< what the user named
  std::optional<ExtractedArchive> archive;       //!< an archive's members, unpacked once
  std::optional<NNUNetPackage>    nnunetPackage; //!< Kind::NNUNet from an archive

  /** Kind::NNUNet: the trained-model folder (the unpacked one for a package). */
  std::string
  NNUNetFolder() const;

  /** Kind::Package: ModelPackage::Load from the one extraction (validated, weights hash checked). */
  ModelPackage
  LoadPackage() const;

  /** Throws InputError naming the archive when an archive is corrupt or an nnU-Net package fails
   * its hashes. */
  static ModelSource
  Resolve(const std::string & path);
};

} // namespace medseg

#endif
