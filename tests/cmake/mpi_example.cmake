# An example run by several MPI processes behaves as one program: it exits 0, prints exactly
# one JSON line on stdout (rank 0's), its rank-0-only messages once, and leaves its output
# files (and no temporary ones) in --out.
#   cmake "-DLAUNCHER=<command;...>" -DEXAMPLE=<binary> -DWORK_DIR=<dir> "-DARGS=<arg;...>"
#         "-DFILES=<file;...>" -DJSON_KEY=<first key of the JSON line> ["-DONCE=<regex;...>"]
#         -P mpi_example.cmake
# LAUNCHER starts the processes (tests/distributed/mpirun_test.sh <mpiexec> <n> <seconds>);
# ONCE, regular expressions that stderr must each match exactly once (rank 0's messages, the
# progress bar's last line).
include(${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)
file(REMOVE_RECURSE "${WORK_DIR}")
string(REPLACE "\\;" ";" files "${FILES}")  # a list given on the command line keeps its escapes

mam_run_example(run ${LAUNCHER} ${EXAMPLE} ${ARGS} --out ${WORK_DIR})
set(everything "stdout:\n${run_output}\nstderr:\n${run_errors}")
if(NOT run_code EQUAL 0)
  message(FATAL_ERROR "expected exit code 0, got '${run_code}':\n${everything}")
endif()
# Lines that open a JSON object: exactly one, the summary.
mam_require_once("(^|\n)\\{[^\n]*" "${run_output}" "a JSON line on stdout")
if(NOT run_output MATCHES "(^|\n)\\{\"${JSON_KEY}\": [^\n]*\\}\n")
  message(FATAL_ERROR "the JSON line does not start with \"${JSON_KEY}\":\n${everything}")
endif()
string(REPLACE "\\;" ";" once_patterns "${ONCE}")
foreach(pattern IN LISTS once_patterns)
  mam_require_once("${pattern}" "${run_errors}" "'${pattern}' on stderr")
endforeach()
foreach(file ${files})
  if(NOT EXISTS ${WORK_DIR}/${file})
    message(FATAL_ERROR "no ${WORK_DIR}/${file}:\n${everything}")
  endif()
endforeach()
file(GLOB litter ${WORK_DIR}/*.tmp*)
if(litter)
  message(FATAL_ERROR "temporary files left behind: ${litter}")
endif()
message(STATUS "one JSON line and ${files}:\n${run_errors}")
