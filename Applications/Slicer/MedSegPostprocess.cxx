// MedSegPostprocess: the 3D Slicer CLI module of `medseg postprocess`, from the same parameter table.
#include "medsegCommands.h"
#include "medsegSlicerModule.h"

int
main(int argc, char * argv[])
{
  return medseg::cli::RunSlicerModule("MedSegPostprocess", medseg::cli::PostprocessCommandLine(), &medseg::cli::RunPostprocess, argc, argv);
}
