# The OSC protocol module (clients/common/osc_proto.c): round trips through
# liblo, the validating decoder, channel-list cutting, and docs/osc.md's
# tables checked against the code.
ictal_add_test(test_osc_proto LIBS ictal_osc ${MATH_LIBRARY})
target_compile_definitions(test_osc_proto PRIVATE ICTAL_OSC_DOC="${PROJECT_SOURCE_DIR}/docs/osc.md")
