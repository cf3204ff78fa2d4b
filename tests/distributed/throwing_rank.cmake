# run_or_abort ends every rank when one throws (tests/distributed/throwing_rank.cpp):
#   cmake -DBASH=<bash> -DWRAPPER=<mpirun_test.sh> -DMPIEXEC=<mpiexec> -DPROGRAM=<binary>
#         -DMODE=one_rank|every_rank -P throwing_rank.cmake
# Passes only if the run exits non-zero within 20 s (a hang is killed after 60 s) and the
# error message appears exactly once in its output.
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/run_example.cmake)  # mam_require_once
if(MODE STREQUAL "one_rank")
  set(message "throwing_rank: expected rank 1 to go on, got a deliberate failure on rank 1")
  set(reporter "mam test: rank 1: ")
elseif(MODE STREQUAL "every_rank")
  set(message "throwing_rank: expected a finite loss, got the same failure on every rank")
  set(reporter "mam test: rank 0: ")  # rank 0 reports; the others are ended in their sleep
else()
  message(FATAL_ERROR "MODE must be one_rank or every_rank, not '${MODE}'")
endif()

# Milliseconds since the epoch (whole seconds before CMake 3.23, which added %f).
function(mam_now_ms variable)
  if(CMAKE_VERSION VERSION_LESS 3.23)
    string(TIMESTAMP now "%s" UTC)
    math(EXPR now "${now} * 1000")
  else()
    string(TIMESTAMP now "%s%f" UTC)
    math(EXPR now "${now} / 1000")
  endif()
  set(${variable} ${now} PARENT_SCOPE)
endfunction()

mam_now_ms(start)
execute_process(COMMAND ${BASH} ${WRAPPER} ${MPIEXEC} 2 60 ${PROGRAM} ${MODE}
                RESULT_VARIABLE code OUTPUT_VARIABLE output ERROR_VARIABLE errors)
mam_now_ms(end)
math(EXPR ms "${end} - ${start}")
math(EXPR whole "${ms} / 1000")
math(EXPR thousandths "${ms} % 1000 + 1000")  # the leading 1 keeps the zeros
string(SUBSTRING "${thousandths}" 1 3 thousandths)
set(seconds "${whole}.${thousandths}")
set(everything "${output}\n${errors}")

if(code EQUAL 0)
  message(FATAL_ERROR "expected a non-zero exit code, got 0:\n${everything}")
endif()
if(code EQUAL 124 OR code EQUAL 137)
  message(FATAL_ERROR "the ranks hung: killed by timeout after ${seconds} s:\n${everything}")
endif()
if(ms GREATER 20000)
  message(FATAL_ERROR "expected the ranks to end within 20 s, took ${seconds} s:\n${everything}")
endif()
# (The messages hold no regular-expression characters.)
mam_require_once("${message}" "${everything}" "the message")
string(FIND "${everything}" "${reporter}${message}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "expected '${reporter}' to report it:\n${everything}")
endif()
message(STATUS "exit code ${code} after ${seconds} s, the message once:\n${errors}")
