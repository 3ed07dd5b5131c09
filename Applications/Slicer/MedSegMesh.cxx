// MedSegMesh: the 3D Slicer CLI module of `medseg mesh`, from the same parameter table.
#include "medsegCommands.h"
#include "medsegSlicerModule.h"

int
main(int argc, char * argv[])
{
  return medseg::cli::RunSlicerModule("MedSegMesh", medseg::cli::MeshCommandLine(), &medseg::cli::RunMesh, argc, argv);
}
