# medseg_add_plugin(<name> SOURCES ... [LINK ...] [OUTPUT_DIRECTORY dir] [NO_INSTALL])
#
# Declares the model plugin MedSegPlugin<name>: a MODULE library named medseg-<name>.so with
# hidden visibility (only the descriptor and the factory are exported, see medsegPluginABI.h),
# written to the build's plugin folder (MEDSEG_PLUGIN_OUTPUT_DIR, which the registry searches
# from the build tree) and installed into MEDSEG_INSTALL_PLUGINDIR.
function(medseg_add_plugin name)
  cmake_parse_arguments(P "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LINK" ${ARGN})
  set(target MedSegPlugin_${name})
  add_library(${target} MODULE ${P_SOURCES})
  if(NOT P_OUTPUT_DIRECTORY)
    set(P_OUTPUT_DIRECTORY "${MEDSEG_PLUGIN_OUTPUT_DIR}")
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "medseg-${name}"
    LIBRARY_OUTPUT_DIRECTORY "${P_OUTPUT_DIRECTORY}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    # Installed in <prefix>/<libdir>/medseg/plugins: the MedSeg libraries are two levels up.
    INSTALL_RPATH "$ORIGIN/../..")
  target_link_libraries(${target} PRIVATE MedSeg::Plugin ${P_LINK})
  # Every symbol a plugin uses must resolve at link time, not at dlopen.
  target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  if(NOT P_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION "${MEDSEG_INSTALL_PLUGINDIR}")
  endif()
endfunction()
