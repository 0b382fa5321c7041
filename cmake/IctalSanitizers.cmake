# ICTAL_SANITIZE=address → ASan + UBSan (no recovery: any report fails the test);
# ICTAL_SANITIZE=thread  → TSan. Applied globally so every target agrees on the runtime.
if(ICTAL_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
elseif(ICTAL_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=thread)
elseif(NOT ICTAL_SANITIZE STREQUAL "")
  message(FATAL_ERROR "ICTAL_SANITIZE must be '', 'address' or 'thread', not '${ICTAL_SANITIZE}'")
endif()
