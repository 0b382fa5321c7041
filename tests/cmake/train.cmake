# Training code (trained-model issue, parts 2-5): the fast training scan equals
# ictal_ref's, loaders on synthetic CHB-MIT and BIDS layouts and the real
# annotation files of the shared data, the pre-filter replica, the
# post-processing replica, and two deterministic training steps whose export
# ictal-run loads (seconds; the full training is a documented command, not a
# test). Skips with code 77 when Debian's python3-torch is not installed.
if(EXISTS /usr/bin/python3)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp/test_train)
  add_test(NAME test_train
           COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tools/model/test_train.py
                   $<TARGET_FILE:ictal-synth> $<TARGET_FILE:ictal-run>)
  set_tests_properties(test_train PROPERTIES LABELS unit TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "ICTAL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/test_train;ICTAL_SHARED_DATA=${ICTAL_SHARED_DATA};OMP_NUM_THREADS=1;ICTAL_SYSCONFDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-sysconf;XDG_CONFIG_HOME=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-xdg")
endif()
