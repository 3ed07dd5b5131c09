# medseg_add_module(<Name> SOURCES ... [PUBLIC_LINK ...] [PRIVATE_LINK ...] [PCH ...])
#
# Declares the library MedSeg<Name> (alias MedSeg::<Name>) from Modules/<Name>/: public
# headers in include/ (installed under include/MedSeg), sources in src/, and, when testing
# is on, one GoogleTest executable built from test/*GTest.cxx.
function(medseg_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;PUBLIC_LINK;PRIVATE_LINK;PCH;TEST_LINK;TEST_SOURCES" ${ARGN})
  set(target MedSeg${name})
  if(M_SOURCES)
    add_library(${target} SHARED ${M_SOURCES})
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(MedSeg::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name}
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${MEDSEG_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} ${scope} cxx_std_17)
  if(M_PUBLIC_LINK)
    target_link_libraries(${target} ${scope} ${M_PUBLIC_LINK})
  endif()
  if(M_PRIVATE_LINK)
    target_link_libraries(${target} PRIVATE ${M_PRIVATE_LINK})
  endif()
  if(M_PCH AND MEDSEG_USE_PCH AND M_SOURCES)
    target_precompile_headers(${target} PRIVATE ${M_PCH})
  endif()
  install(TARGETS ${target} EXPORT MedSegTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY include/ DESTINATION ${MEDSEG_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h" PATTERN "*.hxx")

  if(MEDSEG_BUILD_TESTING AND M_TEST_SOURCES)
    set(test_target ${target}GTest)
    add_executable(${test_target} ${M_TEST_SOURCES})
    target_link_libraries(${test_target} PRIVATE ${target} MedSegTestHelpers ${M_TEST_LINK}
      GTest::gtest GTest::gtest_main)
    if(M_PCH AND MEDSEG_USE_PCH)
      target_precompile_headers(${test_target} PRIVATE ${M_PCH} <gtest/gtest.h>)
    endif()
    # PRE_TEST discovery keeps the build from running every test binary. The timeout leaves
    # room for a sanitizer build (Utilities/sanitize.sh), where loading LibTorch alone takes seconds.
    gtest_discover_tests(${test_target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 120
      TEST_PREFIX "${name}." WORKING_DIRECTORY "${PROJECT_BINARY_DIR}"
      PROPERTIES LABELS "unit;${name}")
  endif()
endfunction()
