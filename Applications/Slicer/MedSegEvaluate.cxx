// MedSegEvaluate: the 3D Slicer CLI module of `medseg evaluate`, from the same parameter table.
#include "medsegCommands.h"
#include "medsegSlicerModule.h"

int
main(int argc, char * argv[])
{
  return medseg::cli::RunSlicerModule("MedSegEvaluate", medseg::cli::EvaluateCommandLine(), &medseg::cli::RunEvaluate, argc, argv);
}
