# An interrupted-and-resumed mam_ising run ends exactly where an uninterrupted one does:
# `STEPS` steps in one go, and a run of the same length left after STEPS/2 (--stop-after,
# exactly where an interruption would leave it, learning-rate schedule included) then
# --resume to STEPS, must give the same trainer checkpoint and model checkpoint, byte for
# byte, and the same metrics (timings aside).
#   cmake -DMAM_ISING=<binary> -DWORK_DIR=<dir> -DSTEPS=<even n> "-DARGS=<arg;...>" -P resume_identical.cmake
include(${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)
file(REMOVE_RECURSE "${WORK_DIR}")
math(EXPR half "${STEPS} / 2")

mam_run_example(straight ${MAM_ISING} ${ARGS} --steps ${STEPS} --out ${WORK_DIR}/straight)
mam_run_example(first ${MAM_ISING} ${ARGS} --steps ${STEPS} --stop-after ${half} --out ${WORK_DIR}/resumed)
mam_run_example(second ${MAM_ISING} ${ARGS} --steps ${STEPS} --resume ${WORK_DIR}/resumed/trainer.ckpt
                --out ${WORK_DIR}/resumed)
foreach(run straight first second)
  if(NOT ${run}_code EQUAL 0)
    message(FATAL_ERROR "run '${run}' failed (${${run}_code}):\n${${run}_errors}")
  endif()
endforeach()

# The final JSON line without the wall-clock fields.
function(metrics_of output result)
  string(REGEX MATCH "\\{\"nll_bpd_marginal\"[^\n]*\\}" json "${output}")
  if(NOT json)
    message(FATAL_ERROR "no JSON line in:\n${output}")
  endif()
  string(REGEX REPLACE "\"(speedup|train_seconds)\": [0-9.]+, " "" json "${json}")
  set(${result} "${json}" PARENT_SCOPE)
endfunction()
metrics_of("${straight_output}" straight_metrics)
metrics_of("${second_output}" resumed_metrics)
message(STATUS "uninterrupted: ${straight_metrics}")
message(STATUS "resumed:       ${resumed_metrics}")
if(NOT straight_metrics STREQUAL resumed_metrics)
  message(FATAL_ERROR "the resumed run's metrics differ from the uninterrupted run's")
endif()
foreach(file trainer.ckpt model.ckpt)
  file(SHA256 ${WORK_DIR}/straight/${file} straight_hash)
  mam_require_same_bytes(${WORK_DIR}/resumed/${file} ${straight_hash} "resumed vs uninterrupted ${file}")
endforeach()
message(STATUS "identical: metrics, trainer.ckpt and model.ckpt after ${half} + ${half} and ${STEPS} steps")
