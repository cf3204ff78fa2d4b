# docs/design.md shows tests/contract/skeleton_network.hpp, which the unit tests compile and
# train: the code block after the "skeleton:" marker must equal that file.
#   cmake -DDOC=docs/design.md -DSOURCE=tests/contract/skeleton_network.hpp -P docs_skeleton.cmake
file(READ "${DOC}" doc)
file(READ "${SOURCE}" source)
set(marker "<!-- skeleton: tests/contract/skeleton_network.hpp -->\n```cpp\n")
string(FIND "${doc}" "${marker}" start)
if(start EQUAL -1)
  message(FATAL_ERROR "${DOC} has no skeleton marker")
endif()
string(LENGTH "${marker}" marker_length)
math(EXPR start "${start} + ${marker_length}")
string(SUBSTRING "${doc}" ${start} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
if(NOT block STREQUAL source)
  message(FATAL_ERROR "the skeleton in ${DOC} differs from ${SOURCE}: copy the file into the document")
endif()
message(STATUS "the skeleton in ${DOC} is ${SOURCE}")
