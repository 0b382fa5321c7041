# The JACK host end to end (tests/integration/jack_host.py): ictal-play →
# ictal-detect → ictal-log and oscdump over real sockets, against a private
# jackd started by ictal-with-jackd, under the RT guard for whole programs
# (rt.cmake). Each scenario is one test; see the script's docstring.

# A client that stalls its cycle on purpose, to force xruns.
add_executable(stall_client support/stall_client.c)
ictal_set_warnings(stall_client)
target_compile_definitions(stall_client PRIVATE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
target_link_libraries(stall_client PRIVATE PkgConfig::JACK)

# The model the scenarios run: the random-weight test model (thresholds are
# calibrated per recording by the script).
set(ICTAL_INTEGRATION_MODEL ${PROJECT_SOURCE_DIR}/models/ictal-sz-v1.safetensors)

# scenario  rate  period  timeout
set(ICTAL_INTEGRATION_SCENARIOS
    "realtime 256 64 180"
    "freewheel 256 256 600"
    "bufsize 256 64 180"
    "resample 48000 256 600"
    "xruns 256 64 180"
    "death 256 64 180"
    "late 256 64 240"
    "barrage 256 64 300"
    "errors 256 64 120")
foreach(sc ${ICTAL_INTEGRATION_SCENARIOS})
  separate_arguments(sc)
  list(GET sc 0 name)
  list(GET sc 1 rate)
  list(GET sc 2 period)
  list(GET sc 3 timeout)
  set(tmp ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_integration)
  file(MAKE_DIRECTORY ${tmp})
  add_test(NAME test_integration_${name}
           COMMAND $<TARGET_FILE:ictal-with-jackd> -r ${rate} -p ${period} -n integ
                   -- /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/jack_host.py ${name})
  set_tests_properties(test_integration_${name} PROPERTIES LABELS "jack;integration"
    TIMEOUT ${timeout}
    ENVIRONMENT "ICTAL_BIN=${PROJECT_BINARY_DIR};ICTAL_SRC=${PROJECT_SOURCE_DIR};ICTAL_TEST_TMPDIR=${tmp};ICTAL_MODEL=${ICTAL_INTEGRATION_MODEL};${ICTAL_RT_GUARD_TEST_ENV};OPENBLAS_NUM_THREADS=1;ICTAL_SYSCONFDIR=${tmp}/no-sysconf;XDG_CONFIG_HOME=${tmp}/no-xdg")
endforeach()
