// An nnU-Net v2 trained-model folder on one scan, without Python:
//   segment_nnunet MODEL_FOLDER INPUT OUTPUT
// ReadNNUNetFolder (plans, dataset.json, folds) -> LoadNNUNetFolds (one network per fold) ->
// NNUNetSegmenter::Run (nnUNetPredictor's steps) -> a label map on exactly the input's grid.
#include "medsegImageFileIO.h"
#include "medsegLabelMapFileIO.h"
#include "medsegNNUNetSegmenter.h"

#include <iostream>

int
main(int argc, char * argv[])
{
  if (argc != 4)
  {
    std::cerr << "Usage: segment_nnunet MODEL_FOLDER INPUT OUTPUT\n";
    return 2;
  }
  try
  {
    medseg::RegisterImageIOFactories(); // NIfTI, NRRD, MetaImage, DICOM, ...
    medseg::NNUNetModel model = medseg::ReadNNUNetFolder(argv[1]);
    const auto          folds = medseg::LoadNNUNetFolds(model, "auto");
    const medseg::NNUNetSegmenter segmenter(model, folds);

    const medseg::FloatImage3::Pointer image = medseg::ReadScalarImage(argv[2]);
    const medseg::Segmentation         result = segmenter.Run({ image }, false, [](double done) {
      std::cout << "\rsegmenting: " << static_cast<int>(100 * done) << "%" << std::flush;
    });
    medseg::WriteLabelMapFile(result.labels.GetPointer(), argv[3], 65535);
    std::cout << "\n" << model.configuration << " (" << model.networkClass << ", " << folds.size()
              << " folds): wrote " << argv[3] << " with " << result.classes << " classes\n";
  }
  catch (const std::exception & e)
  {
    std::cerr << "segment_nnunet: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
