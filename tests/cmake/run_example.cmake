# Shared by the example checks in this directory (cmake -P scripts run by ctest):
#   mam_run_example(<result-prefix> <command> [args...])
# runs the command and sets <prefix>_code, <prefix>_output (stdout) and <prefix>_errors (stderr).
function(mam_run_example prefix)
  execute_process(COMMAND ${ARGN}
                  RESULT_VARIABLE code OUTPUT_VARIABLE output ERROR_VARIABLE errors)
  set(${prefix}_code "${code}" PARENT_SCOPE)
  set(${prefix}_output "${output}" PARENT_SCOPE)
  set(${prefix}_errors "${errors}" PARENT_SCOPE)
endfunction()

# mam_require_same_bytes(<path> <sha256> <what>): fails unless <path> has that SHA-256.
function(mam_require_same_bytes path expected_hash what)
  file(SHA256 "${path}" actual_hash)
  if(NOT actual_hash STREQUAL expected_hash)
    message(FATAL_ERROR "${what}: ${path} changed")
  endif()
endfunction()

# mam_require_once(<regex> <text> <what>): fails unless <regex> matches <text> exactly once
# (a message of several processes that only one of them must print).
function(mam_require_once pattern text what)
  string(REGEX MATCHALL "${pattern}" matches "${text}")
  list(LENGTH matches count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "expected ${what} once, got it ${count} times:\n${text}")
  endif()
endfunction()
