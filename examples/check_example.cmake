# check_example.cmake - runs one example program for ctest and checks what it did.
#
#   cmake [-DEXIT=n] [-DLINES=n] [-DLINE_REGEX=re] [-DSTDERR_REGEX=re] [-DPROBABILITIES=ON]
#         -P check_example.cmake -- PROGRAM [ARGS...]
#
# EXIT: the expected exit status (default 0). LINES: the number of lines on stdout.
# LINE_REGEX: what every stdout line must match. STDERR_REGEX: what stderr must contain.
# PROBABILITIES: each stdout line starts with a probability printed as %.4f; they must sum to 1
# within 0.001 (CMake has integer arithmetic only, hence the fixed format).

set(command)
set(after_dashes FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_dashes)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_dashes TRUE)
  endif()
endforeach()
if(NOT command)
  message(FATAL_ERROR "usage: cmake [-D...] -P check_example.cmake -- PROGRAM [ARGS...]")
endif()
if(NOT DEFINED EXIT)
  set(EXIT 0)
endif()

execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT status STREQUAL "${EXIT}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXIT}")
endif()
if(DEFINED STDERR_REGEX AND NOT err MATCHES "${STDERR_REGEX}")
  message(FATAL_ERROR "stderr does not match '${STDERR_REGEX}'")
endif()

# One list element per line (the output's own semicolons escaped first).
string(REPLACE ";" "\\;" out "${out}")
string(REGEX REPLACE "\n$" "" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
list(LENGTH lines count)
if(DEFINED LINES AND NOT count EQUAL LINES)
  message(FATAL_ERROR "${count} lines on stdout, expected ${LINES}")
endif()

set(sum 0)  # in units of 0.0001
foreach(line IN LISTS lines)
  if(DEFINED LINE_REGEX AND NOT line MATCHES "${LINE_REGEX}")
    message(FATAL_ERROR "line '${line}' does not match '${LINE_REGEX}'")
  endif()
  if(PROBABILITIES)
    if(NOT line MATCHES "^([0-9]+)\\.([0-9][0-9][0-9][0-9]) ")
      message(FATAL_ERROR "line '${line}' does not start with a %.4f probability")
    endif()
    math(EXPR sum "${sum} + ${CMAKE_MATCH_1} * 10000 + ${CMAKE_MATCH_2}")
  endif()
endforeach()
if(PROBABILITIES AND (sum LESS 9990 OR sum GREATER 10010))
  message(FATAL_ERROR "probabilities sum to ${sum} / 10000, expected 1")
endif()
