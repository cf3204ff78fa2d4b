# FindRDKit: the RDKit C++ libraries (Debian: librdkit-dev, libboost-dev; data: rdkit-data).
# RDKit ships no CMake package in Debian, so look for its headers (<prefix>/include/rdkit) and
# libraries directly.
#
#   list(APPEND CMAKE_MODULE_PATH <mam>/cmake)
#   find_package(RDKit)            # optional; find_package(RDKit REQUIRED) to insist
#
# Defines
#   RDKit_FOUND          TRUE when the headers, Boost's headers and the core libraries exist
#   RDKit::RDKit         imported target: headers + RDKitDescriptors RDKitFingerprints
#                        RDKitChemTransforms RDKitDataStructs RDKitSmilesParse RDKitGraphMol
#                        RDKitRDGeneral (+ Boost headers)
#   RDKit::MolDraw2D     imported target for molecule drawing (RDKitMolDraw2D + RDKit::RDKit),
#                        only when that library is installed
#   RDKit_INCLUDE_DIR    the directory that holds GraphMol/, RDGeneral/, ...
#   RDKit_DATA_DIR       RDKit's data directory (e.g. /usr/share/RDKit/Data) if found, else empty

include(FindPackageHandleStandardArgs)

find_path(RDKit_INCLUDE_DIR GraphMol/SmilesParse/SmilesParse.h PATH_SUFFIXES rdkit)
set(_rdkit_core_components Descriptors Fingerprints ChemTransforms DataStructs SmilesParse GraphMol RDGeneral)
set(_rdkit_library_vars "")
foreach(component IN LISTS _rdkit_core_components ITEMS MolDraw2D)
  find_library(RDKit_${component}_LIBRARY NAMES RDKit${component})
  mark_as_advanced(RDKit_${component}_LIBRARY)
endforeach()
foreach(component IN LISTS _rdkit_core_components)
  list(APPEND _rdkit_library_vars RDKit_${component}_LIBRARY)
endforeach()

# RDKit's headers include Boost's.
find_package(Boost QUIET)
if(TARGET Boost::headers)
  set(_rdkit_boost_ok TRUE)
else()
  set(_rdkit_boost_ok FALSE)
endif()

find_path(RDKit_DATA_DIR NCI/first_5K.smi PATHS /usr/share/RDKit/Data /usr/local/share/RDKit/Data
  PATH_SUFFIXES share/RDKit/Data NO_CACHE)
if(NOT RDKit_DATA_DIR)
  set(RDKit_DATA_DIR "")
endif()

find_package_handle_standard_args(RDKit
  REQUIRED_VARS RDKit_INCLUDE_DIR ${_rdkit_library_vars} _rdkit_boost_ok
  REASON_FAILURE_MESSAGE "install librdkit-dev and libboost-dev (Debian)")
mark_as_advanced(RDKit_INCLUDE_DIR)

if(RDKit_FOUND AND NOT TARGET RDKit::RDKit)
  add_library(RDKit::RDKit INTERFACE IMPORTED)
  # Imported targets' include directories are SYSTEM: RDKit's warnings are not ours.
  target_include_directories(RDKit::RDKit INTERFACE "${RDKit_INCLUDE_DIR}")
  foreach(component IN LISTS _rdkit_core_components)
    target_link_libraries(RDKit::RDKit INTERFACE "${RDKit_${component}_LIBRARY}")
  endforeach()
  target_link_libraries(RDKit::RDKit INTERFACE Boost::headers)
  if(RDKit_MolDraw2D_LIBRARY)
    add_library(RDKit::MolDraw2D INTERFACE IMPORTED)
    target_link_libraries(RDKit::MolDraw2D INTERFACE "${RDKit_MolDraw2D_LIBRARY}" RDKit::RDKit)
  endif()
endif()
