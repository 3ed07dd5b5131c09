#ifndef medsegNNUNetPackage_h
#define medsegNNUNetPackage_h

#include "medsegNNUNetFolder.h"

#include "medsegTarArchive.h"

#include <memory>
#include <optional>
#include <string>

namespace medseg
{

/** \brief An nnU-Net trained-model folder packed into one `.medseg` file (`medseg model pack --from`).
 *
 * The archive (a gzip-compressed tar of plain files, like every MedSeg package) holds
 * `nnunet.json` (what it is: format, dataset, configuration, the folder's name, and the SHA-256 of
 * every other member), `plans.json`, `dataset.json` and one checkpoint per fold,
 * `fold_<f>.pth`: the folds and the checkpoint (final or best) chosen when packing. Opening it
 * checks every hash before anything is read, and lays the files out again as nnU-Net's folder
 * (`<Trainer>__<Plans>__<configuration>/fold_<f>/checkpoint_final.pth`) in a private temporary
 * folder, which lives as long as the returned value. */
struct NNUNetPackage
{
  std::string           folder; //!< the unpacked trained-model folder
  std::string           source; //!< the archive the user named
  std::shared_ptr<void> owner;  //!< removes the temporary folder
};

/** Writes `output` from the trained-model folder `folder` (its folds and checkpoint as `options`
 * say); refuses a folder ReadNNUNetFolder refuses. The archive is written atomically. */
void
PackNNUNetFolder(const std::string & folder, const NNUNetFolderOptions & options, const std::string & output);

/** The package in `path` if it is an nnU-Net package (an archive holding nnunet.json), unpacked and
 * verified; nothing for any other file (a MedSeg model package, a TorchScript file). Throws
 * InputError naming the archive for a corrupt nnU-Net package (hash mismatch, missing member). */
std::optional<NNUNetPackage>
OpenNNUNetPackage(const std::string & path);

/** The same for an archive already extracted (ExtractToTemporaryFolder): nothing when it holds
 * no nnunet.json, so that the caller can hand the same folder to ModelPackage::Load. Lays the
 * members out as nnU-Net's folder inside `archive.folder` only when it is an nnU-Net package. */
std::optional<NNUNetPackage>
OpenNNUNetPackage(const ExtractedArchive & archive);

} // namespace medseg

#endif
