# An interrupted-and-resumed example run ends exactly where an uninterrupted one does: a run
# in one go, and a run of the same budget left after STOP steps (--stop-after, exactly where an
# interruption would leave it, learning-rate schedule included) then resumed, must write the
# same checkpoints, byte for byte, and print the same metrics (timings aside).
#   cmake -DEXAMPLE=<binary> -DWORK_DIR=<dir> -DSTOP=<steps> "-DARGS=<arg;...>"
#         "-DRESUME_ARGS=<arg;...>" "-DFILES=<file;...>" -DJSON_KEY=<first key of the JSON line>
#         [-DIGNORED=<regex of JSON keys not compared>] [-DLAUNCHER=<command;...>]
#         -P resume_identical.cmake
# ARGS hold the budget; in RESUME_ARGS, @OUT@ stands for the resumed run's output directory.
# LAUNCHER, if given, starts every run (e.g. several MPI processes through
# tests/distributed/mpirun_test.sh); the runs then must print the stop message once.
include(${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)
file(REMOVE_RECURSE "${WORK_DIR}")
if(NOT DEFINED IGNORED)
  set(IGNORED "speedup[a-z_]*|train_seconds")  # wall-clock measurements
endif()
string(REPLACE "@OUT@" "${WORK_DIR}/resumed" resume_args "${RESUME_ARGS}")
string(REPLACE "\\;" ";" files "${FILES}")  # a list given on the command line keeps its escapes

mam_run_example(straight ${LAUNCHER} ${EXAMPLE} ${ARGS} --out ${WORK_DIR}/straight)
mam_run_example(first ${LAUNCHER} ${EXAMPLE} ${ARGS} --stop-after ${STOP} --out ${WORK_DIR}/resumed)
mam_run_example(second ${LAUNCHER} ${EXAMPLE} ${ARGS} ${resume_args} --out ${WORK_DIR}/resumed)
foreach(run straight first second)
  if(NOT ${run}_code EQUAL 0)
    message(FATAL_ERROR "run '${run}' failed (${${run}_code}):\n${${run}_errors}")
  endif()
endforeach()
if(NOT first_errors MATCHES "stopped after ${STOP} steps: checkpoint written to")
  message(FATAL_ERROR "the first run did not stop after ${STOP} steps:\n${first_errors}")
endif()
if(LAUNCHER)
  mam_require_once("stopped after ${STOP} steps" "${first_errors}" "the stop message")
endif()

# The final JSON line without the IGNORED fields.
function(metrics_of output result)
  string(REGEX MATCH "\\{\"${JSON_KEY}\"[^\n]*\\}" json "${output}")
  if(NOT json)
    message(FATAL_ERROR "no JSON line in:\n${output}")
  endif()
  string(REGEX REPLACE "\"(${IGNORED})\": ([-+0-9.eE]+|null)(, )?" "" json "${json}")
  set(${result} "${json}" PARENT_SCOPE)
endfunction()
metrics_of("${straight_output}" straight_metrics)
metrics_of("${second_output}" resumed_metrics)
message(STATUS "uninterrupted: ${straight_metrics}")
message(STATUS "resumed:       ${resumed_metrics}")
if(NOT straight_metrics STREQUAL resumed_metrics)
  message(FATAL_ERROR "the resumed run's metrics differ from the uninterrupted run's")
endif()
foreach(file ${files})
  file(SHA256 ${WORK_DIR}/straight/${file} straight_hash)
  mam_require_same_bytes(${WORK_DIR}/resumed/${file} ${straight_hash} "resumed vs uninterrupted ${file}")
endforeach()
message(STATUS "identical: metrics and ${files}, left after ${STOP} steps and resumed")
