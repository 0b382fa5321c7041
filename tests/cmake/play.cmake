# ictal-play (clients/ictal-play, docs/ictal-play.md).
#
# test_ictal_play drives the real program against a private jackd with a
# capture client in the test process. Two entries, each with one server at a
# time (jack2 allows 8 per machine, and other tests run alongside):
#   a   256 Hz/64: freewheel bit-exact samples, --start, --loop pads, channel
#       selection, port names and metadata, --wait, a name clash, real time
#       with 0 underruns, annotations over OSC; then the server dies: exit 3
#   b   a 512 Hz server and a 256 Hz file (rate conversion); transport
#       start/stop/locate at 1024 Hz/64
# test_ictal_play_errors.sh: bad files, channels, options, no server.
add_executable(test_ictal_play test_ictal_play.c)
ictal_set_warnings(test_ictal_play)
target_compile_definitions(test_ictal_play PRIVATE _POSIX_C_SOURCE=200809L
  ICTAL_PLAY_EXE="$<TARGET_FILE:ictal-play>")
target_link_libraries(test_ictal_play PRIVATE ictal_testsupport ictal::core PkgConfig::LIBLO
                      Threads::Threads ${MATH_LIBRARY})
add_dependencies(test_ictal_play ictal-play)
foreach(group a b)
  set(tmp ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_ictal_play_${group})
  file(MAKE_DIRECTORY ${tmp})
  add_test(NAME test_ictal_play_${group} COMMAND test_ictal_play ${group})
  set_tests_properties(test_ictal_play_${group} PROPERTIES LABELS jack TIMEOUT 120
    ENVIRONMENT "ICTAL_TEST_TMPDIR=${tmp};ICTAL_SHARED_DATA=${ICTAL_SHARED_DATA};ICTAL_BUILD_DIR=${PROJECT_BINARY_DIR}")
endforeach()

file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_ictal_play_errors)
add_test(NAME test_ictal_play_errors
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_ictal_play_errors.sh
                 $<TARGET_FILE:ictal-play> $<TARGET_FILE:ictal-synth>
                 $<TARGET_FILE:ictal-with-jackd>)
set_tests_properties(test_ictal_play_errors PROPERTIES LABELS jack TIMEOUT 120
  ENVIRONMENT "ICTAL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/test_ictal_play_errors;ICTAL_SYSCONFDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-sysconf;XDG_CONFIG_HOME=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-xdg")
