# ictal-score (trained-model issue, part 1): scoring rules, annotation readers,
# the program end to end. See docs/scoring.md.

# Scoring rules, hand-worked cases (ictal/score.h).
ictal_add_test(test_score LIBS ${MATH_LIBRARY})

# Annotation readers (ictal/annot.h): every format, malformed inputs, and the
# real CHB-MIT and Siena files of the shared data (skipped when absent).
ictal_add_test(test_annot LIBS ${MATH_LIBRARY})

# ictal-score end to end on ictal-synth recordings and hand-made hypotheses,
# its options and error exits; and a property test against an independent
# mask-based reference of the SzCORE rules in Python (skips when Debian's
# python3 with numpy is missing).
set(score_cfg_env "ICTAL_SYSCONFDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-sysconf;XDG_CONFIG_HOME=${CMAKE_CURRENT_BINARY_DIR}/tmp/no-xdg")
foreach(t test_ictal_score test_ictal_score_ref)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/tmp/${t})
  add_test(NAME ${t}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/${t}.sh
                   $<TARGET_FILE:ictal-score> $<TARGET_FILE:ictal-synth> $<TARGET_FILE:ictal-run>
                   ${CMAKE_CURRENT_SOURCE_DIR}/golden/default_1h.model.safetensors)
  set_tests_properties(${t} PROPERTIES LABELS unit TIMEOUT 120 SKIP_RETURN_CODE 77
    ENVIRONMENT "ICTAL_TEST_TMPDIR=${CMAKE_CURRENT_BINARY_DIR}/tmp/${t};ICTAL_SHARED_DATA=${ICTAL_SHARED_DATA};${score_cfg_env}")
endforeach()
