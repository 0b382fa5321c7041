# ictal-log (clients/ictal-log): the packet walker and the decoding path under
# random and hostile input in-process, and the program end to end over real
# sockets (no JACK): oscsend and a liblo sender, bundles and timetags, UDP and
# TCP, dedup of resent records, a malformed barrage with exact counters, a
# flood, signals, exit codes, and ictal-run's records reproduced field by field.
ictal_add_test(test_ictal_log_packet LIBS ictal_logsrv TIMEOUT 120)

add_executable(test_ictal_log_send test_ictal_log_send.c)
ictal_set_warnings(test_ictal_log_send)
target_compile_definitions(test_ictal_log_send PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(test_ictal_log_send PRIVATE ictal_testsupport ictal_logsrv PkgConfig::CJSON)

file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_ictal_log)
add_test(NAME test_ictal_log
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_ictal_log.sh
                 $<TARGET_FILE:ictal-log> $<TARGET_FILE:test_ictal_log_send>
                 $<TARGET_FILE:ictal-run> $<TARGET_FILE:ictal-synth>
                 ${CMAKE_CURRENT_SOURCE_DIR}/golden/default_1h.model.safetensors)
set_tests_properties(test_ictal_log PROPERTIES LABELS unit TIMEOUT 240
  ENVIRONMENT "ICTAL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/test_ictal_log;ICTAL_SYSCONFDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-sysconf;XDG_CONFIG_HOME=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-xdg")
