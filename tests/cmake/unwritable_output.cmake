# An example pointed at an output directory it cannot write fails at once with a message
# naming the directory, before any training (a regular file stands in for the directory:
# permissions do not stop root, a file in the way does).
#   cmake -DEXAMPLE=<binary> -DWORK_DIR=<dir> "-DARGS=<arg;...>" [-DLAUNCHER=<command;...>]
#         -P unwritable_output.cmake
# LAUNCHER, if given, starts the run (several MPI processes: rank 0 checks the directory, its
# error ends them all, reported once).
include(${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)
file(REMOVE_RECURSE "${WORK_DIR}")
file(WRITE ${WORK_DIR}/not-a-directory "")
set(out ${WORK_DIR}/not-a-directory/run)
string(TIMESTAMP start "%s" UTC)
mam_run_example(run ${LAUNCHER} ${EXAMPLE} ${ARGS} --out ${out})
string(TIMESTAMP end "%s" UTC)
math(EXPR seconds "${end} - ${start}")
if(NOT run_code EQUAL 1)
  message(FATAL_ERROR "expected exit code 1, got '${run_code}':\n${run_errors}")
endif()
if(NOT run_errors MATCHES "output directory '${out}': expected a writable directory, got ")
  message(FATAL_ERROR "the message does not name the directory and the problem:\n${run_errors}")
endif()
if(LAUNCHER)
  mam_require_once("output directory '" "${run_errors}" "the error reported")
endif()
if(run_errors MATCHES "training" OR run_output MATCHES "training")
  message(FATAL_ERROR "training started before the output directory was checked:\n${run_errors}")
endif()
if(seconds GREATER 5)
  message(FATAL_ERROR "took ${seconds} s to refuse the output directory")
endif()
message(STATUS "refused in ${seconds} s: ${run_errors}")
