# Real-time: the RT guard for whole JACK programs (librtguard_jack.so, loaded
# with LD_PRELOAD; its probe client and report checker) and ictal-rtcheck.
# See docs/testing.md ("RT guard for whole programs") and docs/realtime.md.
#
# For integration tests (included before integration.cmake):
#   ICTAL_RT_GUARD_LIB          the preload library ($<TARGET_FILE:...>), "" when unavailable
#   ICTAL_RT_GUARD_UNAVAILABLE  why it is unavailable ("" when available)
#   ICTAL_RT_GUARD_CHECK        tests/support/rt_guard_check.py (run with /usr/bin/python3)
#   ICTAL_RT_GUARD_SH           tests/support/rt_guard.sh (shell functions for test scripts)
#   ICTAL_RT_GUARD_TEST_ENV     the four above as ENVIRONMENT entries for a test

set(ICTAL_RT_GUARD_CHECK ${CMAKE_CURRENT_SOURCE_DIR}/support/rt_guard_check.py)
set(ICTAL_RT_GUARD_SH ${CMAKE_CURRENT_SOURCE_DIR}/support/rt_guard.sh)
if(ICTAL_SANITIZE)
  # The sanitizer runtime owns malloc and the lock functions (and insists on
  # coming first in the library list): no interposition possible.
  set(ICTAL_RT_GUARD_LIB "")
  set(ICTAL_RT_GUARD_UNAVAILABLE "ICTAL_SANITIZE=${ICTAL_SANITIZE} build: the sanitizer runtime owns the allocator and locks")
else()
  # rt_guard.c and the interposers (rt_guard_interpose.h) are the same code
  # the test executables use; rt_guard_jack.c adds the libjack wrappers.
  # libjack is not linked: the wrappers find it with dlsym(RTLD_NEXT), so
  # processes that inherit LD_PRELOAD without being JACK clients load nothing.
  add_library(rtguard_jack SHARED support/rt_guard_jack.c support/rt_guard.c)
  ictal_set_warnings(rtguard_jack)
  target_include_directories(rtguard_jack PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/support ${JACK_INCLUDE_DIRS})
  # initial-exec: the armed flag is read inside malloc; general-dynamic TLS
  # could call __tls_get_addr, which may itself allocate.
  target_compile_options(rtguard_jack PRIVATE -ftls-model=initial-exec)
  target_link_libraries(rtguard_jack PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
  set(ICTAL_RT_GUARD_LIB $<TARGET_FILE:rtguard_jack>)
  set(ICTAL_RT_GUARD_UNAVAILABLE "")

  add_executable(rt_guard_probe support/rt_guard_probe.c)
  ictal_set_warnings(rt_guard_probe)
  target_link_libraries(rt_guard_probe PRIVATE PkgConfig::JACK PkgConfig::LIBLO PkgConfig::SAMPLERATE
                        PkgConfig::OPENBLAS Threads::Threads)
endif()
set(ICTAL_RT_GUARD_TEST_ENV
    "ICTAL_RT_GUARD_LIB=${ICTAL_RT_GUARD_LIB}"
    "ICTAL_RT_GUARD_UNAVAILABLE=${ICTAL_RT_GUARD_UNAVAILABLE}"
    "ICTAL_RT_GUARD_CHECK=${ICTAL_RT_GUARD_CHECK}"
    "ICTAL_RT_GUARD_SH=${ICTAL_RT_GUARD_SH}")

# The preload on the probe against a private jackd: clean and dirty modes,
# freewheel policies, abort, _exit, a preloaded jackd. In sanitizer builds
# the script reports the guard unavailable and exits 77 (skipped).
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_rt_guard_jack)
if(ICTAL_SANITIZE)
  set(rt_probe_arg "")
else()
  set(rt_probe_arg $<TARGET_FILE:rt_guard_probe>)
endif()
add_test(NAME test_rt_guard_jack
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_rt_guard_jack.sh
                 $<TARGET_FILE:ictal-with-jackd> "${rt_probe_arg}")
set_tests_properties(test_rt_guard_jack PROPERTIES LABELS jack TIMEOUT 240 SKIP_RETURN_CODE 77
  ENVIRONMENT "ICTAL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/test_rt_guard_jack;${ICTAL_RT_GUARD_TEST_ENV};OPENBLAS_NUM_THREADS=1")

# The checker on hand-made reports: clean, dirty, unavailable, malformed.
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_rt_guard_check)
add_test(NAME test_rt_guard_check
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_rt_guard_check.sh ${ICTAL_RT_GUARD_CHECK})
set_tests_properties(test_rt_guard_check PROPERTIES LABELS unit TIMEOUT 60
  ENVIRONMENT "ICTAL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/test_rt_guard_check")

# ictal-rtcheck on fake /proc and /sys trees (verdicts, malformed files and
# arguments) and once on the real machine; the systemd units of rt-config/.
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_rtcheck)
add_test(NAME test_rtcheck
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_rtcheck.sh $<TARGET_FILE:ictal-rtcheck>)
set_tests_properties(test_rtcheck PROPERTIES LABELS unit TIMEOUT 120
  ENVIRONMENT "ICTAL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/test_rtcheck;ICTAL_SYSCONFDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-sysconf;XDG_CONFIG_HOME=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-xdg")
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_rtcheck_units)
add_test(NAME test_rtcheck_units
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_rtcheck_units.sh ${PROJECT_SOURCE_DIR}/rt-config)
set_tests_properties(test_rtcheck_units PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77
  ENVIRONMENT "ICTAL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/test_rtcheck_units")
