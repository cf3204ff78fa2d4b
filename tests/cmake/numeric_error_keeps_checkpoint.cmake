# A run whose training turns non-finite stops with an error and keeps the last good
# checkpoint: train a few steps, resume with an absurd learning rate (the parameters overflow
# and the next forward pass is NaN: the sampler or the loss check stops it), and check exit
# code, message and checkpoint bytes.
#   cmake -DMAM_ISING=<binary> -DWORK_DIR=<dir> "-DARGS=<arg;...>" [-DLAUNCHER=<command;...>]
#         -P numeric_error_keeps_checkpoint.cmake
# LAUNCHER, if given, starts both runs (several MPI processes: the error then ends them all,
# reported once).
include(${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)
file(REMOVE_RECURSE "${WORK_DIR}")
set(checkpoint ${WORK_DIR}/trainer.ckpt)
mam_run_example(good ${LAUNCHER} ${MAM_ISING} ${ARGS} --steps 2 --out ${WORK_DIR})
if(NOT good_code EQUAL 0)
  message(FATAL_ERROR "the first run failed (${good_code}):\n${good_errors}")
endif()
file(SHA256 ${checkpoint} good_hash)
mam_run_example(bad ${LAUNCHER} ${MAM_ISING} ${ARGS} --steps 8 --lr 1e38 --resume ${checkpoint} --out ${WORK_DIR})
if(NOT bad_code EQUAL 1)
  message(FATAL_ERROR "expected exit code 1 from the diverging run, got '${bad_code}':\n${bad_errors}")
endif()
if(NOT bad_errors MATCHES "mam_ising: [^\n]*expected [^\n]*finite[^\n]*got -?(nan|inf)")
  message(FATAL_ERROR "no message about the non-finite quantity:\n${bad_errors}")
endif()
if(LAUNCHER)
  mam_require_once("mam_ising: " "${bad_errors}" "the error reported")
endif()
mam_require_same_bytes(${checkpoint} ${good_hash} "the diverging run")
file(GLOB litter ${WORK_DIR}/*.tmp*)
if(litter)
  message(FATAL_ERROR "temporary files left behind: ${litter}")
endif()
message(STATUS "stopped with: ${bad_errors}")
